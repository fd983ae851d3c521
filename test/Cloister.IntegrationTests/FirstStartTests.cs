using Cloister.IntegrationTests.Support;
using Cloister.Storage;

namespace Cloister.IntegrationTests;

/// <summary>
/// First start creates the admin key, the default tenant and its key, and writes them to credentials.json. A crash at
/// any point of that must leave a data directory whose next start ends with working keys in credentials.json.
/// </summary>
public sealed class FirstStartTests
{
    [Fact]
    public async Task FirstStart_CrashingAfterAnyStep_ThenANormalStart_LeavesWorkingKeysInCredentials()
    {
        var steps = new List<string>();
        using (var probe = TempDirectory.Create("first-start"))
        {
            await using var reference = await TestServer.StartAsync(probe.Path, configure: o => o with { BootstrapStepDone = steps.Add });
        }

        Assert.NotEmpty(steps);
        foreach (var step in steps)
        {
            using var data = TempDirectory.Create("first-start-" + step);
            await Assert.ThrowsAsync<InjectedCrashException>(() => TestServer.StartAsync(data.Path, configure: o => o with
            {
                BootstrapStepDone = done =>
                {
                    if (done == step)
                    {
                        throw new InjectedCrashException(step);
                    }
                },
            }));

            await using var server = await TestServer.StartAsync(data.Path);

            // The admin key and the tenant key in credentials.json both work, and the tenant key holds every tenant scope.
            var tenant = await server.CreateTenantAsync();
            Assert.Equal("after a crash at " + step, await server.RevealValueAsync(tenant.Key, await server.CreateTokenAsync(tenant.Key, new { value = "after a crash at " + step })));
            var value = Values.Unique(step);
            var token = await server.CreateTokenAsync(server.DefaultTenant.Key, new { value });
            Assert.Equal([token], await server.SearchTokensAsync(server.DefaultTenant.Key, value));
            Assert.Equal(value, await server.RevealValueAsync(server.DefaultTenant.Key, token));

            Assert.DoesNotContain(server.LogEntries, e => e.Text.Contains(server.AdminKey, StringComparison.Ordinal) || e.Text.Contains(server.DefaultTenant.Key, StringComparison.Ordinal));
            Assert.True(AuditVerifier.Verify(server.DataDirectory).Ok, $"audit after a crash at {step}");
        }
    }

    private sealed class InjectedCrashException(string step) : Exception("Injected crash after the first-start step " + step);
}
