using Cloister.Protocol;

namespace Cloister.Enclave.Tests;

public sealed class KeyringTests : IDisposable
{
    private readonly TestVault _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task CreateTenantKeys_ReturnsWrappedDataFpeAndFingerprintKeys()
    {
        var created = await _vault.Client.SendAsync<CreateTenantKeysResponse>(new CreateTenantKeysRequest { TenantId = "acme" }, CancellationToken.None);

        Assert.Equal(
            ["data/1", "fingerprint/1", "fpe/1"],
            created.Keys.Select(key => $"{key.Purpose}/{key.Version}").Order(StringComparer.Ordinal));
        Assert.All(created.Keys, key => Assert.True(key.Blob.Length > 32));
    }

    [Fact]
    public async Task FreshEnclave_AnswersKeysRequired_ThenServesOnceTheKeysAreAttached()
    {
        var tenant = await _vault.CreateTenantAsync();
        var worker = _vault.NewEnclaveTransport();
        var request = new TokenizeRequest(1, [new TokenizeItem("4111111111111111", "pan", null, "card", false)]) { TenantId = tenant };

        var first = await SendAsync(worker, request);
        var second = await SendAsync(worker, request with { Keys = await _vault.WrappedKeys.GetWrappedKeysAsync(tenant, CancellationToken.None) });
        var third = await SendAsync(worker, request);

        Assert.Equal(tenant, Assert.IsType<KeysRequiredResponse>(first).TenantId);
        Assert.Null(Assert.Single(Assert.IsType<TokenizeResponse>(second).Results).Error);
        Assert.IsType<TokenizeResponse>(third);
    }

    [Fact]
    public async Task AttachedKeysThatLackTheNeededVersion_AreKeyUnavailable()
    {
        var tenant = await _vault.CreateTenantAsync();
        var worker = _vault.NewEnclaveTransport();
        var keys = await _vault.WrappedKeys.GetWrappedKeysAsync(tenant, CancellationToken.None);
        var request = new TokenizeRequest(2, [new TokenizeItem("secret", "random", null, "default", false)]) { TenantId = tenant, Keys = keys };

        var response = await SendAsync(worker, request);

        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, Assert.IsType<EnclaveErrorResponse>(response).Error.Code);
    }

    [Fact]
    public async Task TamperedAttachedKey_IsKeyUnavailable()
    {
        var tenant = await _vault.CreateTenantAsync();
        var worker = _vault.NewEnclaveTransport();
        var keys = (await _vault.WrappedKeys.GetWrappedKeysAsync(tenant, CancellationToken.None)).ToList();
        var blob = keys[0].Blob.ToArray();
        blob[^1] ^= 1;
        keys[0] = keys[0] with { Blob = blob };

        var response = await SendAsync(worker, new FingerprintRequest("x") { TenantId = tenant, Keys = keys });

        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, Assert.IsType<EnclaveErrorResponse>(response).Error.Code);
    }

    [Fact]
    public async Task AnotherTenantsKeys_DoNotUnwrapForThisTenant()
    {
        var victim = await _vault.CreateTenantAsync();
        var attacker = await _vault.CreateTenantAsync();
        var worker = _vault.NewEnclaveTransport();
        var victimKeys = await _vault.WrappedKeys.GetWrappedKeysAsync(victim, CancellationToken.None);

        var response = await SendAsync(worker, new FingerprintRequest("x") { TenantId = attacker, Keys = victimKeys });

        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, Assert.IsType<EnclaveErrorResponse>(response).Error.Code);
    }

    [Fact]
    public async Task UnknownTenant_IsKeyUnavailable()
    {
        var response = await _vault.Client.SendAsync(new FingerprintRequest("x") { TenantId = "nobody" }, CancellationToken.None);

        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, Assert.IsType<EnclaveErrorResponse>(response).Error.Code);
    }

    [Theory]
    [InlineData("random")]
    [InlineData("numeric")]
    [InlineData("pan")]
    public async Task CiphertextMovedToAnotherToken_FailsToReveal(string format)
    {
        var tenant = await _vault.CreateTenantAsync();
        var a = await _vault.TokenizeAsync(tenant, "4111111111111111", format);
        var b = await _vault.TokenizeAsync(tenant, "5555555555554444", format);

        var revealed = await _vault.RevealAsync(tenant, new RevealItem(b.Token!, format, null, 1, a.Ciphertext));

        Assert.Null(revealed.Value);
        Assert.Equal(EnclaveErrorCodes.DecryptFailed, revealed.Error!.Code);
    }

    [Fact]
    public async Task CiphertextMovedToAnotherTenant_FailsToReveal()
    {
        var tenant = await _vault.CreateTenantAsync();
        var other = await _vault.CreateTenantAsync();
        var result = await _vault.TokenizeAsync(tenant, "secret", "random");

        var revealed = await _vault.RevealAsync(other, TestVault.Stored(result, "random"));

        Assert.Null(revealed.Value);
        Assert.Equal(EnclaveErrorCodes.DecryptFailed, revealed.Error!.Code);
    }

    [Fact]
    public async Task CiphertextRelabelledWithAnotherKeyVersion_FailsToReveal()
    {
        var tenant = await _vault.CreateTenantAsync();
        await _vault.RotateAsync(tenant, 2);
        var result = await _vault.TokenizeAsync(tenant, "secret", "random");

        var revealed = await _vault.RevealAsync(tenant, TestVault.Stored(result, "random", keyVersion: 2));

        Assert.Equal(EnclaveErrorCodes.DecryptFailed, revealed.Error!.Code);
    }

    [Fact]
    public async Task TamperedCiphertext_FailsToReveal()
    {
        var tenant = await _vault.CreateTenantAsync();
        var result = await _vault.TokenizeAsync(tenant, "secret", "random");
        var ciphertext = result.Ciphertext!.ToArray();
        ciphertext[20] ^= 0x40;

        var revealed = await _vault.RevealAsync(tenant, new RevealItem(result.Token!, "random", null, 1, ciphertext));

        Assert.Equal(EnclaveErrorCodes.DecryptFailed, revealed.Error!.Code);
    }

    [Fact]
    public async Task Rotation_OldTokensStillReveal_AndReencryptMovesThemToTheNewVersion()
    {
        var tenant = await _vault.CreateTenantAsync();
        var old = await _vault.TokenizeAsync(tenant, "before rotation", "random");
        var oldFpe = await _vault.TokenizeAsync(tenant, "4111111111111111", "fpe");

        await _vault.RotateAsync(tenant, 2);
        var fresh = await _vault.TokenizeAsync(tenant, new TokenizeItem("after rotation", "random", null, "default", false), keyVersion: 2);

        Assert.Equal("before rotation", (await _vault.RevealAsync(tenant, TestVault.Stored(old, "random"))).Value);
        Assert.Equal("after rotation", (await _vault.RevealAsync(tenant, TestVault.Stored(fresh, "random", keyVersion: 2))).Value);

        var reencrypted = await _vault.Client.SendAsync<ReencryptResponse>(
            new ReencryptRequest(2, [TestVault.Stored(old, "random"), TestVault.Stored(oldFpe, "fpe")]) { TenantId = tenant },
            CancellationToken.None);

        var moved = reencrypted.Ciphertexts[0]!;

        // The codec writes a null byte[] as "" (base64 of nothing), so a skipped item arrives empty.
        Assert.True(reencrypted.Ciphertexts[1] is null or { Length: 0 });
        Assert.Equal("before rotation", (await _vault.RevealAsync(tenant, new RevealItem(old.Token!, "random", null, 2, moved))).Value);
        Assert.Equal(EnclaveErrorCodes.DecryptFailed, (await _vault.RevealAsync(tenant, new RevealItem(old.Token!, "random", null, 1, moved))).Error!.Code);
    }

    [Fact]
    public async Task Rotation_ANewWorkerLoadsEveryVersion()
    {
        var tenant = await _vault.CreateTenantAsync();
        var v1 = await _vault.TokenizeAsync(tenant, "one", "random");
        await _vault.RotateAsync(tenant, 2);
        var v2 = await _vault.TokenizeAsync(tenant, new TokenizeItem("two", "random", null, "default", false), keyVersion: 2);
        var worker = new EnclaveClient(_vault.NewEnclaveTransport(), _vault.WrappedKeys);

        var response = await worker.SendAsync<RevealResponse>(
            new RevealRequest([TestVault.Stored(v1, "random"), TestVault.Stored(v2, "random", keyVersion: 2)]) { TenantId = tenant },
            CancellationToken.None);

        Assert.Equal(["one", "two"], response.Results.Select(result => result.Value));
    }

    [Fact]
    public async Task RevealOfAVersionThatDoesNotExist_FailsOnlyThatItem()
    {
        var tenant = await _vault.CreateTenantAsync();
        var result = await _vault.TokenizeAsync(tenant, "one", "random");

        var response = await _vault.Client.SendAsync<RevealResponse>(
            new RevealRequest([TestVault.Stored(result, "random"), TestVault.Stored(result, "random", keyVersion: 7)]) { TenantId = tenant },
            CancellationToken.None);

        Assert.Equal("one", response.Results[0].Value);
        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, response.Results[1].Error!.Code);
    }

    [Fact]
    public async Task RotateDataKey_RejectsVersion1()
    {
        var tenant = await _vault.CreateTenantAsync();

        var response = await _vault.Client.SendAsync(new RotateDataKeyRequest(1) { TenantId = tenant }, CancellationToken.None);

        Assert.Equal(EnclaveErrorCodes.BadRequest, Assert.IsType<EnclaveErrorResponse>(response).Error.Code);
    }

    private static async Task<EnclaveResponse> SendAsync(IFrameTransport transport, EnclaveRequest request)
        => Frames.Enclave.DecodeResponse(await transport.SendAsync(Frames.Enclave.Encode(request), CancellationToken.None))!;
}
