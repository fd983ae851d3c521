using System.Security.Cryptography;

namespace Cloister.Attestation.Simulated;

/// <summary>
/// Creates simulated evidence (for development and CI machines without a TEE), signed by a local ECDSA P-256 key.
/// </summary>
/// <remarks>
/// <para>
/// Format, version 1: the 31 ASCII bytes <c>CLOISTER-SIMULATED-EVIDENCE-V1\n</c>; a 4-byte big-endian payload length N
/// (2..16384); N bytes of UTF-8 JSON <c>{"measurement":"hex","reportData":"hex"|null,"nonce":"hex"|null,"issuedAt":unix-seconds,"debug":false}</c>;
/// then a 64-byte ECDSA P-256/SHA-256 signature (IEEE P1363 r ‖ s) over everything before it. Nothing may follow.
/// </para>
/// <para>
/// Simulated evidence proves only that the holder of the key signed it: it is always reported as simulated
/// (claim extra "simulated" = "true") and <see cref="SimulatedVerifier"/> refuses it unless the policy lists
/// "simulated" in allowedTees. The caller generates and stores the key, and keeps ownership of it; the attester
/// serializes signing on it, so one attester may be shared between threads.
/// </para>
/// </remarks>
public sealed class SimulatedAttester
{
    private readonly ECDsa _key;
    private readonly Lock _signLock = new();

    /// <summary>Signs with <paramref name="key"/>, which must be a P-256 private key.</summary>
    public SimulatedAttester(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.ExportParameters(includePrivateParameters: false).Curve.Oid?.Value != "1.2.840.10045.3.1.7")
        {
            throw new ArgumentException("simulated evidence is signed with a P-256 key", nameof(key));
        }

        _key = key;
    }

    /// <summary>Creates evidence for a launch measurement, optional report data and nonce (empty = none), issued at <paramref name="issuedAt"/>.</summary>
    /// <param name="measurement">1..64 bytes, e.g. a SHA-384 of the code.</param>
    /// <param name="reportData">0..64 bytes the relying party wants bound (e.g. a hash of a public key and its nonce).</param>
    /// <param name="nonce">0..64 bytes.</param>
    /// <param name="issuedAt">The evidence time (whole seconds are kept).</param>
    /// <param name="debug">Claims a debug environment (to exercise the debug check).</param>
    public byte[] CreateEvidence(ReadOnlySpan<byte> measurement, ReadOnlySpan<byte> reportData, ReadOnlySpan<byte> nonce, DateTimeOffset issuedAt, bool debug = false)
    {
        if (measurement.IsEmpty || measurement.Length > SimulatedEvidenceFormat.MaxFieldBytes)
        {
            throw new ArgumentException("the measurement must be 1 to 64 bytes", nameof(measurement));
        }

        if (reportData.Length > SimulatedEvidenceFormat.MaxFieldBytes)
        {
            throw new ArgumentException("report data must be at most 64 bytes", nameof(reportData));
        }

        if (nonce.Length > SimulatedEvidenceFormat.MaxFieldBytes)
        {
            throw new ArgumentException("the nonce must be at most 64 bytes", nameof(nonce));
        }

        if (issuedAt < DateTimeOffset.UnixEpoch)
        {
            throw new ArgumentOutOfRangeException(nameof(issuedAt), "evidence time before 1970");
        }

        lock (_signLock)
        {
            return SimulatedEvidenceFormat.Encode(_key, measurement, reportData, nonce, issuedAt, debug);
        }
    }
}
