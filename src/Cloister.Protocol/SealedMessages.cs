namespace Cloister.Protocol;

// Sealed operations across the router <-> enclave boundary (docs/api.md, "Sealed requests"). The client seals
// its payload (HPKE, Cloister.Crypto.Hpke.SealedBox) to the worker's attested public key; the router forwards the
// box with the metadata it needs to do its job (formats to store, token records to look up) and never sees the
// plaintext. The purposes and associated data both sides use are in SealedPayloads.

/// <summary>
/// Evidence for a client: the worker binds <paramref name="Nonce"/>, its HPKE public key, its measurement and
/// <paramref name="Functions"/> into canonical claims and returns evidence whose report data is SHA-512(claims).
/// </summary>
/// <param name="Nonce">The client's nonce (16..64 bytes).</param>
/// <param name="Functions">The measurements of the tenant's deployed function versions (lower-case hex SHA-384).</param>
public sealed record AttestationRequest(byte[] Nonce, IReadOnlyList<string> Functions) : EnclaveRequest;

/// <summary>The worker's evidence and the canonical claims it binds.</summary>
/// <param name="Tee">The TEE name ("sev-snp", "tdx", "nitro", "simulated").</param>
/// <param name="Evidence">The report, quote or document.</param>
/// <param name="Certificates">Certificates returned beside the evidence.</param>
/// <param name="Claims">The canonical claims bytes (Cloister.Protocol.Attestation.WorkerClaims).</param>
public sealed record AttestationResponse(string Tee, byte[] Evidence, IReadOnlyList<byte[]> Certificates, byte[] Claims) : EnclaveResponse;

/// <summary>One sealed value to tokenize. The metadata is in the clear (the router stores it) and bound as the box's associated data.</summary>
/// <param name="SealedValue">The value sealed with purpose <see cref="SealedPayloads.TokenizePurpose"/> and associated data <see cref="SealedPayloads.TokenizeAad"/>.</param>
/// <param name="Format">Token format as the client chose it.</param>
/// <param name="Alphabet">For fpe: the alphabet (the router's default "digits" when the client gave none); otherwise null.</param>
/// <param name="Classifier">The classifier.</param>
/// <param name="Deterministic">Whether the client asked for a deterministic token (fpe tokens are deterministic anyway).</param>
/// <param name="Attempt">As <see cref="TokenizeItem.Attempt"/>: the router's collision retry count.</param>
/// <param name="ScanStart">As <see cref="TokenizeItem.ScanStart"/>.</param>
public sealed record SealedTokenizeItem(
    byte[] SealedValue,
    string Format,
    string? Alphabet,
    string Classifier,
    bool Deterministic,
    int Attempt = 0,
    ulong ScanStart = 0);

/// <summary>Tokenize sealed values under data key <paramref name="KeyVersion"/>; answered with <see cref="TokenizeResponse"/>.</summary>
public sealed record SealedTokenizeRequest(int KeyVersion, IReadOnlyList<SealedTokenizeItem> Items) : EnclaveRequest;

/// <summary>Reveal tokens to the client that sealed <paramref name="SealedRequest"/>.</summary>
/// <param name="Items">The stored records the router looked up, in the order of the client's tokens.</param>
/// <param name="SealedRequest">The client's <see cref="SealedRevealPayload"/>, sealed with purpose <see cref="SealedPayloads.RevealPurpose"/>.</param>
public sealed record SealedRevealRequest(IReadOnlyList<RevealItem> Items, byte[] SealedRequest) : EnclaveRequest;

/// <summary>The values sealed under the request's reply key.</summary>
/// <param name="SealedResult">A <see cref="SealedRevealResult"/> reply (SealedReplyKey format) with associated data <see cref="SealedPayloads.TokensAad"/>.</param>
/// <param name="Errors">Per token, in order: null when revealed, else the error code (codes carry no value; the router audits them).</param>
public sealed record SealedRevealResponse(byte[] SealedResult, IReadOnlyList<string?> Errors) : EnclaveResponse;

/// <summary>Error codes of sealed operations, beside <see cref="EnclaveErrorCodes"/>.</summary>
public static class SealedErrorCodes
{
    /// <summary>The worker has no attested identity (it runs without attestation).</summary>
    public const string AttestationUnavailable = "attestation-unavailable";

    /// <summary>A sealed box is malformed, was sealed to another key, or its associated data (the metadata) was changed.</summary>
    public const string SealedBoxInvalid = "sealed-box-invalid";

    /// <summary>A session box names a sealing session the worker does not know (it restarted or forgot it): seal to the worker's key again.</summary>
    public const string SessionUnknown = "sealed-session-unknown";

    /// <summary>The tokens the router looked up are not the tokens the client sealed.</summary>
    public const string TokensMismatch = "sealed-tokens-mismatch";

    /// <summary>The function version the router runs is not the one the client pinned in its sealed request.</summary>
    public const string PinMismatch = "sealed-pin-mismatch";
}
