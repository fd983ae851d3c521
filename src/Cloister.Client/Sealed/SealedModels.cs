using System.Text.Json;

namespace Cloister.Client.Sealed;

/// <summary>One token of a sealed reveal: its value, or the error code that kept it from being revealed.</summary>
public sealed record RevealedToken(string Token, string? Value, string? Error);

/// <summary>A sealed invocation's outcome, opened by the client.</summary>
/// <param name="InvocationId">The router's invocation id.</param>
/// <param name="Measurement">The measurement that ran (the one the client pinned and the worker checked).</param>
/// <param name="Result">The function's result.</param>
/// <param name="Logs">The handler's log lines (they travelled sealed too).</param>
/// <param name="Version">The function version that ran, as the router reported it (not covered by the seal; the measurement is).</param>
/// <param name="Warm">Whether a warm sandbox served it, as the router reported it.</param>
/// <param name="DurationMs">How long it ran, as the router reported it; null if it did not say.</param>
public sealed record SealedInvocationResult(string InvocationId, string Measurement, JsonElement Result, IReadOnlyList<string> Logs, int Version, bool Warm, long? DurationMs);

/// <summary>A worker the client verified: the key to seal to and the claims it verified.</summary>
/// <param name="Tee">The TEE that produced the evidence.</param>
/// <param name="PublicKey">The worker's HPKE public key, from the verified claims.</param>
/// <param name="WorkerMeasurement">The worker measurement from the claims (accepted by the policy).</param>
/// <param name="Functions">The function measurements the worker serves for this tenant.</param>
public sealed record VerifiedWorker(string Tee, byte[] PublicKey, string WorkerMeasurement, IReadOnlyList<string> Functions);
