using System.Text.Json;

namespace Cloister.Api.Contracts;

/// <summary>GET /v1/attestation response: the worker's evidence, the canonical claims it binds, and the worker's public key.</summary>
/// <param name="Tee">sev-snp, tdx, nitro or simulated.</param>
/// <param name="Evidence">The report, quote or document, base64.</param>
/// <param name="Certificates">Certificates beside the evidence, each base64.</param>
/// <param name="Claims">The canonical claims bytes, base64; SHA-512 of them is the evidence's report data.</param>
/// <param name="PublicKey">The worker's HPKE public key from the claims, lower-case hex (a client seals to the key in the claims it verified).</param>
public sealed record WorkerAttestationInfo([property: TeeName] string Tee, string Evidence, IReadOnlyList<string> Certificates, string Claims, string PublicKey);

/// <summary>One item of POST /v1/sealed/tokens: the value sealed to the worker, and the options of an unsealed item.</summary>
/// <param name="SealedValue">The sealed box, base64 (docs/api.md, "Sealed requests").</param>
/// <param name="Format">As for POST /v1/tokens (bound into the box's associated data).</param>
/// <param name="Alphabet">As for POST /v1/tokens (bound).</param>
/// <param name="Classifier">As for POST /v1/tokens (bound).</param>
/// <param name="Deterministic">As for POST /v1/tokens (bound).</param>
/// <param name="TtlSeconds">As for POST /v1/tokens.</param>
/// <param name="Metadata">As for POST /v1/tokens (stored in the clear).</param>
public sealed record SealedTokenItem(
    string SealedValue,
    [property: TokenFormat] string? Format = null,
    [property: FpeAlphabet] string? Alphabet = null,
    string? Classifier = null,
    bool? Deterministic = null,
    long? TtlSeconds = null,
    JsonElement? Metadata = null);

/// <summary>POST /v1/sealed/tokens body (one item or a batch).</summary>
public sealed record SealedTokenizeBody(IReadOnlyList<SealedTokenItem> Items);

/// <summary>POST /v1/sealed/reveal body.</summary>
/// <param name="Tokens">The tokens to reveal, in the order the client sealed them.</param>
/// <param name="SealedRequest">The client's sealed reveal request, base64.</param>
public sealed record SealedRevealBody(IReadOnlyList<string> Tokens, string SealedRequest);

/// <summary>POST /v1/sealed/reveal response: the values sealed under the request's reply key.</summary>
/// <param name="SealedResult">The sealed answer, base64.</param>
public sealed record SealedRevealed(string SealedResult);

/// <summary>POST /v1/sealed/functions/{name}/invoke body.</summary>
/// <param name="SealedInput">The client's sealed invocation, base64.</param>
/// <param name="Measurement">The measurement the client pinned, in the clear so that the router runs that version (409 when the latest differs).</param>
public sealed record SealedInvokeBody(string SealedInput, string? Measurement = null);

/// <summary>The <c>result</c> of a sealed invocation (sync answer and GET /v1/invocations/{id}): the outcome sealed under the request's reply key.</summary>
/// <param name="SealedResult">The sealed outcome, base64.</param>
public sealed record SealedInvocationOutput(string SealedResult);
