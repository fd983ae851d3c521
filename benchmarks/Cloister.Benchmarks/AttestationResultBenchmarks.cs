using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Cloister.Attestation;
using Cloister.Attestation.Results;

namespace Cloister.Benchmarks;

/// <summary>
/// Signing and validating an attestation result token (compact JWS, ES256) as the server issues it and a relying party
/// checks it; one ECDSA P-256 signature or verification each, the rest is JOSE and JSON.
/// </summary>
[MemoryDiagnoser]
public class AttestationResultBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private AttestationResultSigner _signer = null!;
    private AttestationResultValidator _validator = null!;
    private AttestationResult _result = null!;
    private AppraisalContext _appraisal = null!;
    private string _token = null!;

    [GlobalSetup]
    public void Setup()
    {
        _signer = new AttestationResultSigner(_key);
        _result = new AttestationResult(
            Verdict.Affirming,
            new AttestationClaims { Tee = TeeType.Nitro, Measurement = new string('a', 96), Debug = false, IssuedAt = Now },
            [Check.Pass("signature"), Check.Pass("certificate-chain"), Check.NotEvaluated("freshness", "no-max-age")]);
        _appraisal = AppraisalContext.Of(new AppraisalPolicy(), Now);
        _token = _signer.Sign(_result, _appraisal, Now);
        if (!AttestationResultValidator.TryCreate(_signer.ExportJwks(), out var validator, out var error))
        {
            throw new InvalidOperationException(error);
        }

        _validator = validator;
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark]
    public string Sign() => _signer.Sign(_result, _appraisal, Now);

    [Benchmark(Baseline = true)]
    public async Task<bool> Validate() => (await _validator.ValidateAsync(_token, Now)).IsValid;
}
