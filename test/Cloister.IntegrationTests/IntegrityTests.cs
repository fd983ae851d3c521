using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// Someone who can write vault.db but holds no key: an edited or transplanted ciphertext never reveals
/// (AES-GCM with the tenant, token and key version as associated data), and the failure is a clean problem.
/// </summary>
public sealed class IntegrityTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    [Fact]
    public async Task Reveal_CiphertextWithAFlippedBit_Returns500IntegrityFailure()
    {
        var tenant = await _server.CreateTenantAsync();
        var token = await _server.CreateTokenAsync(tenant.Key, new { value = "tamper me" });
        var ciphertext = Ciphertext(tenant.Id, token);
        ciphertext[^1] ^= 0x01;
        SetCiphertext(tenant.Id, token, ciphertext);

        var response = await _server.RevealAsync(tenant.Key, token);

        ProblemAssert.Is(response, 500, "integrity-failure");
        ProblemAssert.DoesNotContain(response, "tamper me");
    }

    [Fact]
    public async Task Reveal_CiphertextCopiedFromAnotherTokenOfTheTenant_DoesNotRevealTheOtherValue()
    {
        var tenant = await _server.CreateTenantAsync();
        var source = await _server.CreateTokenAsync(tenant.Key, new { value = "the source value" });
        var target = await _server.CreateTokenAsync(tenant.Key, new { value = "the target value" });
        SetCiphertext(tenant.Id, target, Ciphertext(tenant.Id, source));

        var response = await _server.RevealAsync(tenant.Key, target);

        ProblemAssert.Is(response, 500, "integrity-failure");
        ProblemAssert.DoesNotContain(response, "the source value");
        Assert.Equal("the source value", await _server.RevealValueAsync(tenant.Key, source));
    }

    [Fact]
    public async Task Reveal_CiphertextCopiedFromAnotherTenant_DoesNotRevealTheOtherValue()
    {
        var victim = await _server.CreateTenantAsync();
        var attacker = await _server.CreateTenantAsync();
        var secret = await _server.CreateTokenAsync(victim.Key, new { value = "the victim's value" });
        var own = await _server.CreateTokenAsync(attacker.Key, new { value = "the attacker's value" });
        SetCiphertext(attacker.Id, own, Ciphertext(victim.Id, secret));

        var response = await _server.RevealAsync(attacker.Key, own);

        ProblemAssert.Is(response, 500, "integrity-failure");
        ProblemAssert.DoesNotContain(response, "the victim's value");
    }

    [Fact]
    public async Task Reveal_RowMovedToAnotherTenant_DoesNotReveal()
    {
        var victim = await _server.CreateTenantAsync();
        var attacker = await _server.CreateTenantAsync();
        var secret = await _server.CreateTokenAsync(victim.Key, new { value = "moved value" });
        VaultDatabase.ExecuteOne(_server.DataDirectory, "UPDATE tokens SET tenant_id = $to WHERE tenant_id = $from AND token = $token", ("$to", attacker.Id), ("$from", victim.Id), ("$token", secret));

        var response = await _server.RevealAsync(attacker.Key, secret);

        Assert.NotEqual(200, response.StatusCode);
        Assert.Equal("application/problem+json", response.MediaType);
        ProblemAssert.DoesNotContain(response, "moved value");
    }

    [Fact]
    public async Task Reveal_IntegrityFailure_IsAudited()
    {
        var tenant = await _server.CreateTenantAsync();
        var token = await _server.CreateTokenAsync(tenant.Key, new { value = "audited failure" });
        var ciphertext = Ciphertext(tenant.Id, token);
        ciphertext[0] ^= 0x80;
        SetCiphertext(tenant.Id, token, ciphertext);
        var before = AuditRowsNaming(token);

        ProblemAssert.Is(await _server.RevealAsync(tenant.Key, token), 500, "integrity-failure");

        Assert.Equal(before + 1, AuditRowsNaming(token));
    }

    [Fact]
    public async Task GetInvocation_OutcomeCopiedFromAnotherInvocation_OrAltered_Returns500IntegrityFailure()
    {
        // Invocations that end before any code runs (an unknown token in the args): their outcomes are kept encrypted too.
        var tenant = await _server.CreateTenantAsync();
        var name = "integrity-" + Guid.NewGuid().ToString("N")[..8];
        (await _server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, tenant.Key, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201);
        var ids = new List<string>();
        foreach (var path in (string[])["first", "second", "third"])
        {
            var args = TestServer.Json(new { args = new Dictionary<string, object> { [path] = new Dictionary<string, string> { ["$token"] = "tok_" + new string('x', 22) } } });
            var failed = ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, $"/v1/functions/{name}/invoke", tenant.Key, args), 422, "unknown-token");
            ids.Add(failed.GetProperty("invocationId").GetString()!);
        }

        var read = (await _server.SendAsync(HttpMethod.Get, "/v1/invocations/" + ids[0], tenant.Key)).Expect(200).Json.GetProperty("error");
        Assert.Equal("unknown-token", read.GetProperty("code").GetString());
        Assert.Contains("$.first", read.GetProperty("detail").GetString(), StringComparison.Ordinal);

        VaultDatabase.ExecuteOne(_server.DataDirectory, "UPDATE invocations SET outcome = (SELECT outcome FROM invocations WHERE id = $from) WHERE id = $to", ("$from", ids[0]), ("$to", ids[1]));
        var outcome = Assert.IsType<byte[]>(Assert.Single(VaultDatabase.Query(_server.DataDirectory, "SELECT outcome FROM invocations WHERE id = $id", ("$id", ids[2])))[0]);
        outcome[^1] ^= 0x01;
        VaultDatabase.ExecuteOne(_server.DataDirectory, "UPDATE invocations SET outcome = $outcome WHERE id = $id", ("$outcome", outcome), ("$id", ids[2]));

        foreach (var altered in ids[1..])
        {
            var response = await _server.SendAsync(HttpMethod.Get, "/v1/invocations/" + altered, tenant.Key);
            ProblemAssert.Is(response, 500, "integrity-failure");
            ProblemAssert.DoesNotContain(response, "$.first");
        }
    }

    private byte[] Ciphertext(string tenantId, string token)
    {
        var row = Assert.Single(VaultDatabase.Query(_server.DataDirectory, "SELECT ciphertext FROM tokens WHERE tenant_id = $t AND token = $k", ("$t", tenantId), ("$k", token)));
        return Assert.IsType<byte[]>(row[0]);
    }

    private void SetCiphertext(string tenantId, string token, byte[] ciphertext)
        => VaultDatabase.ExecuteOne(_server.DataDirectory, "UPDATE tokens SET ciphertext = $c WHERE tenant_id = $t AND token = $k", ("$c", ciphertext), ("$t", tenantId), ("$k", token));

    private long AuditRowsNaming(string token)
        => VaultDatabase.Scalar(_server.DataDirectory, "SELECT count(*) FROM audit WHERE instr(targets, $token) > 0", ("$token", token));
}
