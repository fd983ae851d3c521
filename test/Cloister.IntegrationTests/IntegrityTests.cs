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
