using Cloister.Crypto.Hpke;
using Cloister.Protocol.Attestation;

namespace Cloister.Enclave.Attestation;

/// <summary>Evidence with the canonical claims it binds.</summary>
/// <param name="Evidence">The evidence.</param>
/// <param name="Claims">The canonical claims bytes; SHA-512 of them is the evidence's report data.</param>
public sealed record WorkerAttestation(WorkerEvidence Evidence, byte[] Claims);

/// <summary>
/// Who this enclave worker is: its HPKE key pair (generated at start, never leaves the process), its
/// measurement, and where its evidence comes from. Clients seal requests to the public key; the key
/// broker seals tenant keys to it.
/// </summary>
public sealed class WorkerIdentity : IDisposable
{
    /// <summary>A worker with a fresh key pair.</summary>
    /// <param name="evidence">Where evidence comes from.</param>
    /// <param name="measurement">SHA-384 of the worker's build and configuration, lower-case hex.</param>
    public WorkerIdentity(IEvidenceProvider evidence, string measurement)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentException.ThrowIfNullOrEmpty(measurement);
        Evidence = evidence;
        Measurement = measurement;
        KeyPair = HpkeKeyPair.Generate();
    }

    /// <summary>The worker's HPKE key pair.</summary>
    public HpkeKeyPair KeyPair { get; }

    /// <summary>The sealing sessions of clients that sealed requests to <see cref="KeyPair"/> (tests give smaller bounds).</summary>
    internal Sealed.SealedSessions Sessions { get; init; } = new(TimeProvider.System);

    /// <summary>Where evidence comes from.</summary>
    public IEvidenceProvider Evidence { get; }

    /// <summary>The worker measurement (lower-case hex SHA-384).</summary>
    public string Measurement { get; }

    /// <summary>Evidence binding <paramref name="nonce"/>, the public key, the worker measurement and <paramref name="functions"/>.</summary>
    public async Task<WorkerAttestation> AttestAsync(byte[] nonce, IReadOnlyList<string> functions, CancellationToken cancellationToken)
    {
        var claims = new WorkerClaims(nonce, KeyPair.PublicKey, Measurement, functions).Encode();
        var evidence = await Evidence.GetEvidenceAsync(WorkerClaims.ReportData(claims), cancellationToken);
        return new WorkerAttestation(evidence, claims);
    }

    /// <summary>Zeroes the private key.</summary>
    public void Dispose() => KeyPair.Dispose();
}
