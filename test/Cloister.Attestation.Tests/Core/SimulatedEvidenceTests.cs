using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Attestation.Simulated;

namespace Cloister.Attestation.Tests.Core;

public sealed class SimulatedEvidenceTests : IDisposable
{
    private static readonly DateTimeOffset IssuedAt = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Measurement = SHA384.HashData("cloister enclave image"u8);
    private static readonly byte[] ReportData = SHA512.HashData("channel key + nonce"u8);
    private static readonly byte[] Nonce = Convert.FromHexString("00112233445566778899aabbccddeeff");

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static AppraisalPolicy AllowsSimulated => new() { AllowedTees = new HashSet<TeeType> { TeeType.Simulated } };

    public void Dispose() => _key.Dispose();

    [Fact]
    public void Format_IsMagic_BigEndianLength_Json_P256Signature()
    {
        var evidence = new SimulatedAttester(_key).CreateEvidence(Measurement, ReportData, Nonce, IssuedAt);

        var magic = "CLOISTER-SIMULATED-EVIDENCE-V1\n"u8;
        Assert.True(evidence.AsSpan(0, magic.Length).SequenceEqual(magic));
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(evidence.AsSpan(magic.Length));
        Assert.Equal(magic.Length + 4 + length + 64, evidence.Length);

        using var json = JsonDocument.Parse(evidence.AsMemory(magic.Length + 4, length));
        Assert.Equal(Convert.ToHexStringLower(Measurement), json.RootElement.GetProperty("measurement").GetString());
        Assert.Equal(Convert.ToHexStringLower(ReportData), json.RootElement.GetProperty("reportData").GetString());
        Assert.Equal(Convert.ToHexStringLower(Nonce), json.RootElement.GetProperty("nonce").GetString());
        Assert.Equal(IssuedAt.ToUnixTimeSeconds(), json.RootElement.GetProperty("issuedAt").GetInt64());
        Assert.False(json.RootElement.GetProperty("debug").GetBoolean());

        var signed = evidence.AsSpan(0, magic.Length + 4 + length);
        Assert.True(_key.VerifyData(signed, evidence.AsSpan(signed.Length), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void ValidEvidence_PolicyAllowingSimulated_IsAffirming_AndReportedSimulated()
    {
        var result = Verify(Create(), AllowsSimulated with { Measurements = [Convert.ToHexStringLower(Measurement)] });

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.All(result.Checks, c => Assert.NotEqual(CheckStatus.Fail, c.Status));
        Assert.Equal(CheckStatus.Pass, Find(result, "simulated-allowed").Status);
        Assert.Equal(CheckStatus.Pass, Find(result, "signature").Status);
        Assert.Equal(CheckStatus.Pass, Find(result, "measurement").Status);
        Assert.Equal(TeeType.Simulated, result.Claims.Tee);
        Assert.Equal("true", result.Claims.Extra["simulated"]);
        Assert.Equal(Convert.ToHexStringLower(Measurement), result.Claims.Measurement);
        Assert.Equal(Convert.ToHexStringLower(ReportData), result.Claims.ReportData);
        Assert.Equal(Convert.ToHexStringLower(Nonce), result.Claims.Nonce);
        Assert.Equal(IssuedAt, result.Claims.IssuedAt);
        Assert.False(result.Claims.Debug);
    }

    [Fact]
    public void ValidEvidence_DefaultPolicy_IsContraindicated_BySimulatedAllowed()
    {
        var result = Verify(Create(), new AppraisalPolicy());

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        var check = Find(result, "simulated-allowed");
        Assert.Equal(CheckStatus.Fail, check.Status);
        Assert.Equal(Verdict.Contraindicated, check.Impact);
        Assert.Equal("true", result.Claims.Extra["simulated"]);
    }

    [Fact]
    public void ValidEvidence_ThroughTheFacade_DefaultPolicy_IsRefusedByTeeAllowed()
    {
        var facade = new AttestationVerifier([new SimulatedVerifier(_key)]);
        var result = facade.Verify(new EvidenceBundle(TeeType.Simulated, Create(), []), new AppraisalPolicy(), IssuedAt);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal("tee-allowed", Assert.Single(result.Checks).Name);
    }

    [Fact]
    public void EvidenceFromAnotherKey_IsContraindicated_BySignature()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var evidence = new SimulatedAttester(other).CreateEvidence(Measurement, ReportData, Nonce, IssuedAt);

        var result = Verify(evidence, AllowsSimulated);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, Find(result, "signature").Status);
        Assert.Null(result.Claims.Measurement);
        Assert.Equal("true", result.Claims.Extra["simulated"]);
    }

    [Fact]
    public void EveryFlippedByte_IsContraindicated_AndNeverThrows()
    {
        var evidence = Create();
        var verifier = new SimulatedVerifier(_key);
        for (var i = 0; i < evidence.Length; i++)
        {
            foreach (var mask in new byte[] { 0x01, 0x80 })
            {
                var mutated = (byte[])evidence.Clone();
                mutated[i] ^= mask;
                var result = verifier.Verify(new EvidenceBundle(TeeType.Simulated, mutated, []), AllowsSimulated, IssuedAt);
                Assert.Equal(Verdict.Contraindicated, result.Verdict);
                Assert.Contains(result.Checks, c => c.Name is "evidence-format" or "signature" && c.Status == CheckStatus.Fail);
            }
        }
    }

    [Fact]
    public void TruncatedEmptyRandomAndHugeInput_IsContraindicated_AndNeverThrows()
    {
        var evidence = Create();
        var verifier = new SimulatedVerifier(_key);
        var random = new Random(20261122);
        List<byte[]> inputs = [[], new byte[1], new byte[10 * 1024 * 1024], [.. evidence, 0]];
        for (var length = 0; length < evidence.Length; length++)
        {
            inputs.Add(evidence[..length]);
        }

        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[random.Next(0, 400)];
            random.NextBytes(bytes);
            if (i % 2 == 0 && bytes.Length >= 35)
            {
                // Keep the magic so the random bytes reach the length and signature code.
                "CLOISTER-SIMULATED-EVIDENCE-V1\n"u8.CopyTo(bytes);
            }

            inputs.Add(bytes);
        }

        foreach (var input in inputs)
        {
            var result = verifier.Verify(new EvidenceBundle(TeeType.Simulated, input, []), AllowsSimulated, IssuedAt);
            Assert.Equal(Verdict.Contraindicated, result.Verdict);
            Assert.Equal("true", result.Claims.Extra["simulated"]);
        }
    }

    [Fact]
    public void SignedButMalformedPayload_IsContraindicated_ByEvidencePayload()
    {
        foreach (var json in new[]
        {
            """{"measurement":"aa","reportData":null,"nonce":null,"issuedAt":1,"debug":false,"extra":1}""",
            """{"measurement":"AA","reportData":null,"nonce":null,"issuedAt":1,"debug":false}""",
            """{"measurement":"aa","reportData":null,"issuedAt":1,"debug":false}""",
            """{"measurement":"aa","measurement":"bb","reportData":null,"nonce":null,"issuedAt":1,"debug":false}""",
            """{"measurement":"aa","reportData":null,"nonce":null,"issuedAt":"1","debug":false}""",
            """[1,2]""",
            """{"measurement":""",
        })
        {
            var result = Verify(SignRaw(Encoding.UTF8.GetBytes(json)), AllowsSimulated);
            Assert.Equal(Verdict.Contraindicated, result.Verdict);
            Assert.Equal(CheckStatus.Pass, Find(result, "signature").Status);
            Assert.Equal(CheckStatus.Fail, Find(result, "evidence-payload").Status);
        }
    }

    [Fact]
    public void DebugEvidence_IsRefused_UnlessThePolicyAllowsDebug()
    {
        var evidence = new SimulatedAttester(_key).CreateEvidence(Measurement, ReportData, Nonce, IssuedAt, debug: true);

        var refused = Verify(evidence, AllowsSimulated);
        Assert.Equal(Verdict.Contraindicated, refused.Verdict);
        Assert.Equal(CheckStatus.Fail, Find(refused, "debug").Status);
        Assert.True(refused.Claims.Debug);

        Assert.Equal(Verdict.Affirming, Verify(evidence, AllowsSimulated with { AllowDebug = true }).Verdict);
    }

    [Fact]
    public void PinnedMeasurement_Mismatch_IsContraindicated()
    {
        var result = Verify(Create(), AllowsSimulated with { Measurements = [new string('0', 96)] });
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, Find(result, "measurement").Status);
    }

    [Fact]
    public void UnpinnedMeasurement_IsReportedNotJudged()
    {
        var result = Verify(Create(), AllowsSimulated);
        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.NotEvaluated, Find(result, "measurement").Status);
    }

    [Fact]
    public void ExpectedReportDataAndNonce_MustMatch()
    {
        var evidence = Create();
        var matching = AllowsSimulated with { ExpectedReportData = Convert.ToHexStringLower(ReportData), ExpectedNonce = Convert.ToHexStringLower(Nonce) };
        var ok = Verify(evidence, matching);
        Assert.Equal(Verdict.Affirming, ok.Verdict);
        Assert.Equal(CheckStatus.Pass, Find(ok, "report-data").Status);
        Assert.Equal(CheckStatus.Pass, Find(ok, "nonce").Status);

        var wrongReportData = Verify(evidence, matching with { ExpectedReportData = new string('1', 128) });
        Assert.Equal(CheckStatus.Fail, Find(wrongReportData, "report-data").Status);
        Assert.Equal(Verdict.Contraindicated, wrongReportData.Verdict);

        var wrongNonce = Verify(evidence, matching with { ExpectedNonce = "ff" });
        Assert.Equal(CheckStatus.Fail, Find(wrongNonce, "nonce").Status);

        var noNonce = new SimulatedAttester(_key).CreateEvidence(Measurement, ReportData, [], IssuedAt);
        var missing = Verify(noNonce, matching);
        Assert.Equal(CheckStatus.Fail, Find(missing, "nonce").Status);
        Assert.Null(missing.Claims.Nonce);
    }

    [Fact]
    public void Freshness_MaxAgeAndFutureDates_AreChecked()
    {
        var evidence = Create();
        var policy = AllowsSimulated with { MaxAge = TimeSpan.FromMinutes(5) };

        Assert.Equal(CheckStatus.Pass, Find(Verify(evidence, policy, IssuedAt.AddMinutes(4)), "freshness").Status);
        Assert.Equal(CheckStatus.Fail, Find(Verify(evidence, policy, IssuedAt.AddMinutes(6)), "freshness").Status);
        Assert.Equal(CheckStatus.Fail, Find(Verify(evidence, policy, IssuedAt.AddMinutes(-2)), "freshness").Status);
        Assert.Equal(CheckStatus.NotEvaluated, Find(Verify(evidence, AllowsSimulated, IssuedAt.AddDays(30)), "freshness").Status);
        Assert.Equal(Verdict.Contraindicated, Verify(evidence, AllowsSimulated, IssuedAt.AddMinutes(-2)).Verdict);
    }

    [Fact]
    public void PinnedRegisters_CannotBeMetBySimulatedEvidence()
    {
        var result = Verify(Create(), AllowsSimulated with { ExpectedRegisters = new Dictionary<string, string> { ["pcr0"] = "00" } });
        Assert.Equal(CheckStatus.Fail, Find(result, "registers").Status);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }

    [Fact]
    public void OtherEvidenceType_IsContraindicated()
    {
        var result = new SimulatedVerifier(_key).Verify(new EvidenceBundle(TeeType.Nitro, Create(), []), AllowsSimulated, IssuedAt);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, Find(result, "evidence-format").Status);
    }

    [Fact]
    public void NonP256Keys_AreRefusedAtConstruction()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => new SimulatedAttester(p384));
        Assert.Throws<ArgumentException>(() => new SimulatedVerifier(p384));
        Assert.Throws<ArgumentException>(() => new SimulatedAttester(_key).CreateEvidence([], [], [], IssuedAt));
    }

    [Fact]
    public void VerifierTrustsOnlyThePublicHalf()
    {
        using var publicOnly = ECDsa.Create(_key.ExportParameters(includePrivateParameters: false));
        Assert.Equal(Verdict.Affirming, new SimulatedVerifier(publicOnly).Verify(new EvidenceBundle(TeeType.Simulated, Create(), []), AllowsSimulated, IssuedAt).Verdict);
    }

    private static Check Find(AttestationResult result, string name) => Assert.Single(result.Checks, c => c.Name == name);

    private byte[] Create() => new SimulatedAttester(_key).CreateEvidence(Measurement, ReportData, Nonce, IssuedAt);

    private AttestationResult Verify(byte[] evidence, AppraisalPolicy policy, DateTimeOffset? at = null)
        => new SimulatedVerifier(_key).Verify(new EvidenceBundle(TeeType.Simulated, evidence, []), policy, at ?? IssuedAt.AddSeconds(10));

    private byte[] SignRaw(byte[] payload)
    {
        byte[] header = [.. "CLOISTER-SIMULATED-EVIDENCE-V1\n"u8, 0, 0, 0, 0];
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(header.Length - 4), (uint)payload.Length);
        byte[] signed = [.. header, .. payload];
        return [.. signed, .. _key.SignData(signed, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)];
    }
}
