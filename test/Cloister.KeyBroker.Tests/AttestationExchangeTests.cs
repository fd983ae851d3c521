using Cloister.Protocol;

namespace Cloister.KeyBroker.Tests;

/// <summary>The challenge → attestation → sealed release exchange, and each way an attestation is refused (each audited).</summary>
public sealed class AttestationExchangeTests : IDisposable
{
    private readonly BrokerHarness _broker = new();

    public void Dispose() => _broker.Dispose();

    [Fact]
    public async Task FullExchange_ReleasesTheKeysSealedToTheAttestedKey_AndAuditsTheRelease()
    {
        var wrapped = await _broker.GenerateAsync("acme", new(KeyPurpose.Data, 1), new(KeyPurpose.Fpe, 1), new(KeyPurpose.Fingerprint, 1));
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);
        var attested = Assert.IsType<AttestResponse>(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims)));

        var response = await _broker.UnwrapAsync(attested.Session, "acme", wrapped);

        var keys = _broker.Open(response, "acme", attested.Session);
        Assert.Equal([(KeyPurpose.Data, 1), (KeyPurpose.Fpe, 1), (KeyPurpose.Fingerprint, 1)], keys.Select(k => (k.Purpose, k.Version)));
        Assert.All(keys, key => Assert.Equal(32, key.Key.Length));
        Assert.Equal(_broker.Clock.GetUtcNow() + TimeSpan.FromMinutes(10), attested.ExpiresAt);
        var audit = _broker.LastAudit();
        Assert.Equal("release", audit.GetProperty("event").GetString());
        Assert.Equal("acme", audit.GetProperty("tenant").GetString());
        Assert.Equal(BrokerHarness.Measurement, audit.GetProperty("workerMeasurement").GetString());
        Assert.Equal("simulated", audit.GetProperty("tee").GetString());
        Assert.Equal("affirming", audit.GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task SealedKeys_DoNotOpenForAnotherTenantOrSession()
    {
        var wrapped = await _broker.GenerateAsync("acme");
        var session = await _broker.SessionAsync();
        var response = await _broker.UnwrapAsync(session, "acme", wrapped);

        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => _broker.Open(response, "other", session));
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => _broker.Open(response, "acme", session + "x"));
    }

    [Fact]
    public async Task Challenge_IsA32ByteNonce_ValidFor60Seconds()
    {
        var challenge = Assert.IsType<ChallengeResponse>(await _broker.SendAsync(new ChallengeRequest()));

        Assert.Equal(32, challenge.Nonce.Length);
        Assert.Equal(_broker.Clock.GetUtcNow() + TimeSpan.FromSeconds(60), challenge.ExpiresAt);
    }

    [Fact]
    public async Task TamperedEvidence_IsRefused_Signature()
    {
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);
        var evidence = _broker.Evidence(claims);
        evidence[^1] ^= 0x01;

        AssertRefused(await _broker.AttestAsync(nonce, claims, evidence), "signature");
    }

    [Fact]
    public async Task TamperedClaims_AreRefused_ReportDataMismatch()
    {
        var nonce = await _broker.ChallengeAsync();
        var evidence = _broker.Evidence(_broker.Claims(nonce));
        var tampered = _broker.Claims(nonce, functions: [BrokerHarness.OtherMeasurement]);

        AssertRefused(await _broker.AttestAsync(nonce, tampered, evidence), "report-data");
    }

    [Fact]
    public async Task ClaimsWithAnotherPublicKeyThanAttested_AreRefused()
    {
        using var attacker = Crypto.Hpke.HpkeKeyPair.Generate();
        var nonce = await _broker.ChallengeAsync();
        var evidence = _broker.Evidence(_broker.Claims(nonce));
        var swapped = _broker.Claims(nonce, publicKey: attacker.PublicKey);

        AssertRefused(await _broker.AttestAsync(nonce, swapped, evidence), "report-data");
    }

    [Fact]
    public async Task NonCanonicalClaims_AreRefused()
    {
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);
        var spaced = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(claims).Replace(",", ", ", StringComparison.Ordinal));

        AssertRefused(await _broker.AttestAsync(nonce, spaced, _broker.Evidence(spaced)), "claims");
    }

    [Fact]
    public async Task UnknownNonce_IsRefused()
    {
        var nonce = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var claims = _broker.Claims(nonce);

        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims)), "nonce");
    }

    [Fact]
    public async Task ClaimsCarryingAnotherNonceThanTheOneRedeemed_AreRefused()
    {
        var nonce = await _broker.ChallengeAsync();
        var other = await _broker.ChallengeAsync();
        var claims = _broker.Claims(other);

        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims)), "nonce");
    }

    [Fact]
    public async Task ReplayedNonce_IsRefused()
    {
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);
        var evidence = _broker.Evidence(claims);
        Assert.IsType<AttestResponse>(await _broker.AttestAsync(nonce, claims, evidence));

        AssertRefused(await _broker.AttestAsync(nonce, claims, evidence), "nonce");
    }

    [Fact]
    public async Task ExpiredNonce_IsRefused()
    {
        var nonce = await _broker.ChallengeAsync();
        _broker.Clock.Advance(TimeSpan.FromSeconds(61));
        var claims = _broker.Claims(nonce);

        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims)), "nonce");
    }

    [Fact]
    public async Task OutstandingNonces_AreBounded_TheOldestIsForgotten()
    {
        using var broker = new BrokerHarness(options: new KeyBrokerOptions { DataDirectory = "unused", MaxOutstandingNonces = 2 });
        var oldest = await broker.ChallengeAsync();
        var kept = await broker.ChallengeAsync();
        await broker.ChallengeAsync();

        var claims = broker.Claims(oldest);
        AssertRefused(await broker.AttestAsync(oldest, claims, broker.Evidence(claims)), "nonce", broker);
        var keptClaims = broker.Claims(kept);
        Assert.IsType<AttestResponse>(await broker.AttestAsync(kept, keptClaims, broker.Evidence(keptClaims)));
    }

    [Fact]
    public async Task WrongWorkerMeasurement_IsRefused()
    {
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce, measurement: BrokerHarness.OtherMeasurement);

        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims, measurement: BrokerHarness.OtherMeasurement)), "worker-measurement");
    }

    [Fact]
    public async Task SimulatedEvidence_IsRefused_WhenThePolicyDoesNotAllowIt()
    {
        _broker.WritePolicy(_broker.Policy(allowSimulated: false));
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);

        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims)), "tee-allowed");
    }

    [Fact]
    public async Task SimulatedEvidence_IsRefused_WhenThePolicyNamesNoAttesterKey()
    {
        _broker.WritePolicy(_broker.Policy(withKey: false));
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);

        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims)), "tee-supported");
    }

    [Fact]
    public async Task DebugEvidence_IsRefused()
    {
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);

        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims, debug: true)), "debug");
    }

    [Fact]
    public async Task EvidenceOfAnotherTeeType_IsRefused()
    {
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);

        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims), tee: "sev-snp"), "format");
    }

    [Fact]
    public async Task UnknownTee_IsRefused()
    {
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);

        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims), tee: "quantum"), "tee");
    }

    [Fact]
    public async Task TenantNotAllowedForTheMeasurement_IsRefused_AndAudited()
    {
        _broker.WritePolicy(_broker.Policy(tenants: ["acme"]));
        var wrapped = await _broker.GenerateAsync("globex");
        var session = await _broker.SessionAsync();

        var response = await _broker.UnwrapAsync(session, "globex", wrapped);

        Assert.Equal(BrokerErrorCodes.TenantNotAllowed, Assert.IsType<BrokerErrorResponse>(response).Error.Code);
        var audit = _broker.LastAudit();
        Assert.Equal(("refusal", "globex", BrokerErrorCodes.TenantNotAllowed), (audit.GetProperty("event").GetString(), audit.GetProperty("tenant").GetString(), audit.GetProperty("reason").GetString()));
        Assert.Equal(BrokerHarness.Measurement, audit.GetProperty("workerMeasurement").GetString());
    }

    [Fact]
    public async Task ExpiredSession_IsAttestationRequired_AndAudited()
    {
        var wrapped = await _broker.GenerateAsync("acme");
        var session = await _broker.SessionAsync();
        _broker.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        var response = await _broker.UnwrapAsync(session, "acme", wrapped);

        Assert.Equal(BrokerErrorCodes.AttestationRequired, Assert.IsType<BrokerErrorResponse>(response).Error.Code);
        Assert.Equal(("refusal", BrokerErrorCodes.AttestationRequired), (_broker.LastAudit().GetProperty("event").GetString(), _broker.LastAudit().GetProperty("reason").GetString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-session")]
    public async Task UnknownSession_IsAttestationRequired_AndAudited(string session)
    {
        var wrapped = await _broker.GenerateAsync("acme");

        var response = await _broker.UnwrapAsync(session, "acme", wrapped);

        Assert.Equal(BrokerErrorCodes.AttestationRequired, Assert.IsType<BrokerErrorResponse>(response).Error.Code);
        Assert.Equal("refusal", _broker.LastAudit().GetProperty("event").GetString());
    }

    [Fact]
    public async Task PolicyFile_IsReloadedWhenItChanges()
    {
        var first = await _broker.SessionAsync();
        _broker.WritePolicy(_broker.Policy(allowSimulated: false));

        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);
        AssertRefused(await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims)), "tee-allowed");

        // A live session is held to the policy in force too: narrowing the tenants applies at once.
        _broker.WritePolicy(_broker.Policy(tenants: ["acme"]));
        var wrapped = await _broker.GenerateAsync("globex");
        Assert.Equal(BrokerErrorCodes.TenantNotAllowed, Assert.IsType<BrokerErrorResponse>(await _broker.UnwrapAsync(first, "globex", wrapped)).Error.Code);
    }

    [Fact]
    public async Task BrokenPolicyFile_KeepsTheLastGoodPolicy()
    {
        var source = ReleasePolicySource.FromFile(_broker.PolicyPath);
        File.WriteAllText(_broker.PolicyPath, "{ not json");
        File.SetLastWriteTimeUtc(_broker.PolicyPath, DateTime.UtcNow.AddMinutes(1));

        Assert.True(source.Policy.AllowsSimulated);
        Assert.NotNull(source.LastError);
        Assert.IsType<AttestResponse>(await AttestOnceAsync());
    }

    [Theory]
    [InlineData(UnixFileMode.GroupWrite)]
    [InlineData(UnixFileMode.OtherWrite)]
    public void PolicyFileOthersCanWrite_IsRefusedAtLoad(UnixFileMode extra)
    {
        File.SetUnixFileMode(_broker.PolicyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);

        var error = Assert.Throws<KeyBrokerException>(() => ReleasePolicySource.FromFile(_broker.PolicyPath));

        Assert.Contains("chmod go-w", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyFileChangedWhileOthersCanWriteIt_IsNotApplied_TheLastGoodPolicyStays()
    {
        var source = ReleasePolicySource.FromFile(_broker.PolicyPath);
        _broker.WritePolicy(_broker.Policy(allowSimulated: false));
        File.SetUnixFileMode(_broker.PolicyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);

        Assert.True(source.Policy.AllowsSimulated);
        Assert.Contains("writable by group or others", source.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingPolicyFile_IsAClearError()
    {
        var error = Assert.Throws<KeyBrokerException>(() => ReleasePolicySource.FromFile(Path.Combine(_broker.Directory, "absent.json")));

        Assert.Contains("absent.json", error.Message, StringComparison.Ordinal);
    }

    private async Task<BrokerResponse> AttestOnceAsync()
    {
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);
        return await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims));
    }

    private void AssertRefused(BrokerResponse response, params string[] anyOf) => AssertRefused(response, anyOf, _broker);

    private static void AssertRefused(BrokerResponse response, string check, BrokerHarness broker) => AssertRefused(response, [check], broker);

    private static void AssertRefused(BrokerResponse response, string[] anyOf, BrokerHarness broker)
    {
        var failed = BrokerHarness.Refused(response);
        Assert.Contains(failed, anyOf.Contains);
        var audit = broker.LastAudit();
        Assert.Equal("refusal", audit.GetProperty("event").GetString());
        Assert.Equal(BrokerErrorCodes.AttestationRefused, audit.GetProperty("reason").GetString());
        Assert.Equal(failed, audit.GetProperty("checks").EnumerateArray().Select(c => c.GetString()!));
    }
}
