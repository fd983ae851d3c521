using System.Security.Cryptography;
using System.Text;
using Cloister.Protocol;
using static Cloister.Enclave.Tests.Functions.TestFunctions;

namespace Cloister.Enclave.Tests.Functions;

/// <summary>Forgetting a deleted tenant stops its invocations and removes its functions from the worker, on a real sandbox.</summary>
[Collection(SandboxCollection.Name)]
public sealed class ForgetTenantFunctionTests(FunctionRouters routers) : IClassFixture<FunctionRouters>
{
    [Fact]
    public async Task ForgetTenant_StopsItsRunningInvocation_AndDeletesItsPackages_AndLeavesOtherTenantsRunning()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var doomed = await router.CreateTenantAsync();
        var kept = await router.CreateTenantAsync();
        var function = FreshPython(""","limits":{"wallTimeoutSeconds":60}""");
        var packages = Path.Combine(router.PackageDirectory, "functions", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(doomed))));

        // One invocation of the tenant sleeping in its sandbox.
        var sleeping = router.InvokeAsync(doomed, function, """{"mode":"sleep"}""");
        await WaitUntilAsync(() => router.Host.RunningInvocations == 1 && Directory.Exists(packages));

        var forgot = Assert.IsType<ForgetTenantResponse>(await router.SendAsync(new ForgetTenantRequest { TenantId = doomed }));

        Assert.Equal((1, 1), (forgot.Invocations, forgot.Functions));
        // It sleeps for 60 s unless stopped; its completion reaches the router's loop once the worker answered.
        Assert.NotNull((await sleeping.WaitAsync(TimeSpan.FromSeconds(30))).Completion.Error);
        Assert.Equal(0, router.Host.RunningInvocations);
        Assert.False(Directory.Exists(packages), "the deleted tenant's packages are still on disk");
        Assert.DoesNotContain(router.Host.HeldKeyIds, id => id.TenantId == doomed);

        // Another tenant's invocations of the same code still run.
        var other = await router.InvokeAsync(kept, function, """{"mode":"echo","x":1}""");
        Assert.Equal("""{"mode":"echo","x":1}""", other.Result);
    }

    [Fact]
    public async Task AForgottenTenantsLateInvocation_IsRefused_BeforeItsPackageIsInstalled()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var doomed = await router.CreateTenantAsync();
        var keys = await router.WrappedKeys.GetWrappedKeysAsync(doomed, CancellationToken.None);
        Assert.IsType<ForgetTenantResponse>(await router.SendAsync(new ForgetTenantRequest { TenantId = doomed }));
        var function = FreshPython(string.Empty);
        var packages = Path.Combine(router.PackageDirectory, "functions", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(doomed))));

        // An invocation that was on its way when the tenant was deleted, with everything attached.
        var late = new InvokeFunctionRequest("inv-" + Guid.NewGuid().ToString("N"), function.Ref, """{"mode":"echo"}""", 1) { TenantId = doomed, Package = function.Package, Keys = keys };
        var refused = Assert.IsType<EnclaveErrorResponse>(await router.SendAsync(late));

        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, refused.Error.Code);
        Assert.Contains(BrokerErrorCodes.KeysShredded, refused.Error.Detail, StringComparison.Ordinal);
        Assert.False(Directory.Exists(packages), "the deleted tenant's package was installed");
        Assert.Equal(0, router.Host.RunningInvocations);
        Assert.DoesNotContain(router.Host.HeldKeyIds, id => id.TenantId == doomed);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "the invocation did not start within 30 s");
    }
}
