using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Api.Contracts;
using Cloister.Attestation.Policy;
using Cloister.Client.Sealed;
using Cloister.Crypto.Hpke;
using Cloister.Protocol;

namespace Cloister.Client;

// Sealed operations (docs/api.md, "Sealed requests"): the client fetches the worker's attestation for a fresh random
// nonce and verifies it against the policy (AttestationCheck) before it seals anything to the attested key; the verified
// attestation is then reused for AttestationMaxAge, and the session the first request started spares later requests
// the key agreement (SealingContext). Answers come back under the request's reply key (SealedReplyKey).
public sealed partial class CloisterClient
{
    /// <summary>The default of <see cref="AttestationMaxAge"/>: 5 minutes.</summary>
    public static readonly TimeSpan DefaultAttestationMaxAge = TimeSpan.FromMinutes(5);

    private AttestedWorker? _attested;

    /// <summary>The clock attestation checks use (certificate validity, evidence freshness).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// How long sealed operations reuse an attestation this client verified (under the same policy object) before they
    /// attest again (<see cref="DefaultAttestationMaxAge"/> unless set); <see cref="TimeSpan.Zero"/> attests on every call.
    /// Within it, requests are sealed in the session the first one started. A worker that restarted has a new key and
    /// forgot its sessions, and refuses such a box: the call then attests again and is sent once more (nothing was
    /// opened, so nothing ran twice). Async sealed invocations always attest afresh and seal to the key.
    /// </summary>
    public TimeSpan AttestationMaxAge { get; init; } = DefaultAttestationMaxAge;

    /// <summary>GET /v1/attestation for <paramref name="nonce"/> (16..64 bytes): the raw answer, unverified.</summary>
    public Task<WorkerAttestationInfo> GetAttestationAsync(byte[] nonce, CancellationToken cancellationToken = default)
        => GetAsync<WorkerAttestationInfo>("v1/attestation?nonce=" + Convert.ToHexStringLower(nonce), cancellationToken);

    /// <summary>Fetches the worker's attestation for a fresh random nonce and verifies it against <paramref name="policy"/>.</summary>
    /// <exception cref="AttestationRefusedException">The attestation does not verify.</exception>
    public async Task<VerifiedWorker> AttestAsync(AttestationPolicyFile policy, CancellationToken cancellationToken = default)
        => (await AttestAndKeepAsync(policy, cancellationToken)).Worker;

    /// <summary>Attests afresh and keeps the verified worker for the next sealed calls.</summary>
    private async Task<AttestedWorker> AttestAndKeepAsync(AttestationPolicyFile policy, CancellationToken cancellationToken)
    {
        var nonce = RandomNumberGenerator.GetBytes(32);
        var attestation = await GetAttestationAsync(nonce, cancellationToken);
        var now = Time.GetUtcNow();
        var attested = new AttestedWorker(policy, AttestationCheck.Verify(attestation, nonce, policy, now), Time.GetTimestamp());
        Volatile.Write(ref _attested, attested);
        return attested;
    }

    /// <summary>Tokenizes values sealed to the attested worker: the router stores the tokens and never sees the values.</summary>
    /// <exception cref="AttestationRefusedException">The attestation does not verify (nothing was sent).</exception>
    public async Task<BatchCreated> CreateSealedTokensAsync(IEnumerable<(string Value, TokenizeOptions? Options)> items, AttestationPolicyFile policy, CancellationToken cancellationToken = default)
    {
        var list = items.ToList();
        return await WithAttestedWorkerAsync(policy, sealing =>
        {
            var body = new SealedTokenizeBody([.. list.Select(item => SealItem(sealing, item.Value, item.Options))]);
            return SendAsync<SealedTokenizeBody, BatchCreated>(HttpMethod.Post, "v1/sealed/tokens", body, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Tokenizes one value sealed to the attested worker.</summary>
    /// <exception cref="AttestationRefusedException">The attestation does not verify (nothing was sent).</exception>
    public async Task<TokenCreated> CreateSealedTokenAsync(string value, AttestationPolicyFile policy, TokenizeOptions? options = null, CancellationToken cancellationToken = default)
        => (await CreateSealedTokensAsync([(value, options)], policy, cancellationToken)).Items[0];

    /// <summary>Reveals tokens sealed to a key of this call: the router forwards only ciphertext.</summary>
    /// <exception cref="AttestationRefusedException">The attestation does not verify (nothing was sent).</exception>
    /// <exception cref="SealedResponseException">The answer does not open or is not for these tokens.</exception>
    public async Task<IReadOnlyList<RevealedToken>> RevealSealedAsync(IReadOnlyList<string> tokens, AttestationPolicyFile policy, CancellationToken cancellationToken = default)
    {
        var (answer, replyKey) = await WithAttestedWorkerAsync(policy, async sealing =>
        {
            var payload = SealedPayloads.Encode(new SealedRevealPayload(tokens));
            var box = sealing.Seal(SealedPayloads.RevealPurpose, [], payload, out var key);
            try
            {
                return (await SendAsync<SealedRevealBody, SealedRevealed>(HttpMethod.Post, "v1/sealed/reveal", new SealedRevealBody(tokens, Convert.ToBase64String(box)), cancellationToken), key);
            }
            catch
            {
                key.Dispose();
                throw;
            }
        }, cancellationToken);

        byte[] opened;
        using (replyKey)
        {
            opened = Open(replyKey, SealedPayloads.TokensAad(tokens), answer.SealedResult);
        }

        var result = SealedPayloads.DecodeRevealResult(opened);
        CryptographicOperations.ZeroMemory(opened);
        if (result is null || !result.Values.Select(v => v.Token).SequenceEqual(tokens, StringComparer.Ordinal))
        {
            throw new SealedResponseException("The sealed reveal answer is not a result for the tokens asked for.");
        }

        return [.. result.Values.Select(v => new RevealedToken(v.Token, v.Value, v.Error))];
    }

    /// <summary>Reveals one token sealed to a key of this call.</summary>
    /// <exception cref="AttestationRefusedException">The attestation does not verify (nothing was sent).</exception>
    public async Task<string> RevealSealedAsync(string token, AttestationPolicyFile policy, CancellationToken cancellationToken = default)
    {
        var revealed = (await RevealSealedAsync([token], policy, cancellationToken))[0];
        return revealed.Value ?? throw new SealedResponseException($"The token could not be revealed ({revealed.Error}).");
    }

    /// <summary>
    /// Invokes a function with sealed args and waits for its sealed outcome. The pinned measurement is
    /// <paramref name="measurement"/> or the policy's pin for the function; the worker must attest serving it, and
    /// refuses to run any other version.
    /// </summary>
    /// <exception cref="AttestationRefusedException">The attestation or the pin does not verify (nothing was sent).</exception>
    /// <exception cref="SealedInvocationException">The function ran and failed.</exception>
    public async Task<SealedInvocationResult> InvokeSealedAsync(string name, JsonElement args, AttestationPolicyFile policy, string? measurement = null, CancellationToken cancellationToken = default)
    {
        using var pending = await SendSealedInvocationAsync(name, args, policy, measurement, async: false, cancellationToken);
        var run = pending.SyncResult!;
        return pending.Open(run.InvocationId, run.Result, run.Version, run.Warm, run.DurationMs);
    }

    /// <summary>Starts a sealed invocation; keep the returned handle (it holds the reply key) to open the outcome from <see cref="GetInvocationAsync"/>.</summary>
    /// <exception cref="AttestationRefusedException">The attestation or the pin does not verify (nothing was sent).</exception>
    public Task<PendingSealedInvocation> StartSealedInvocationAsync(string name, JsonElement args, AttestationPolicyFile policy, string? measurement = null, CancellationToken cancellationToken = default)
        => SendSealedInvocationAsync(name, args, policy, measurement, async: true, cancellationToken);

    private async Task<PendingSealedInvocation> SendSealedInvocationAsync(string name, JsonElement args, AttestationPolicyFile policy, string? measurement, bool async, CancellationToken cancellationToken)
    {
        // An async invocation's box is opened after the answer, so a stale key could not be retried: attest afresh.
        if (async)
        {
            var sealing = new SealingContext(await AttestAsync(policy, cancellationToken), null);
            return await SendSealedInvocationAsync(sealing, name, args, policy, measurement, async, cancellationToken);
        }

        return await WithAttestedWorkerAsync(policy, sealing => SendSealedInvocationAsync(sealing, name, args, policy, measurement, async, cancellationToken), cancellationToken);
    }

    private async Task<PendingSealedInvocation> SendSealedInvocationAsync(SealingContext sealing, string name, JsonElement args, AttestationPolicyFile policy, string? measurement, bool async, CancellationToken cancellationToken)
    {
        var worker = sealing.Worker;
        string? latest = null;
        if (measurement is null && policy.Functions.TryGetValue(name, out var pins) && pins.Count(worker.Functions.Contains) > 1)
        {
            // Several accepted versions are deployed: pin the one the router runs by default.
            latest = (await GetFunctionAsync(name, cancellationToken)).Versions.MaxBy(v => v.Version)?.Measurement;
        }

        var pinned = AttestationCheck.PinFunction(worker, policy, name, measurement, latest);
        var payload = SealedPayloads.Encode(new SealedInvokePayload(name, pinned, args));
        var box = sealing.Seal(SealedPayloads.InvokePurpose, [], payload, out var replyKey);
        CryptographicOperations.ZeroMemory(payload);
        try
        {
            var body = new SealedInvokeBody(Convert.ToBase64String(box), pinned);
            var path = $"v1/sealed/functions/{Uri.EscapeDataString(name)}/invoke";
            if (async)
            {
                var accepted = await SendAsync<SealedInvokeBody, InvocationAccepted>(HttpMethod.Post, path + "?mode=async", body, cancellationToken);
                return new PendingSealedInvocation(accepted.InvocationId, pinned, replyKey, null);
            }

            var result = await SendAsync<SealedInvokeBody, InvocationSucceeded>(HttpMethod.Post, path, body, cancellationToken);
            return new PendingSealedInvocation(result.InvocationId, pinned, replyKey, result);
        }
        catch
        {
            replyKey.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="send"/> with a verified worker: the reused attestation (and its session) while it is younger
    /// than <see cref="AttestationMaxAge"/>, else a fresh one. When the reused one fails (the worker does not open the box
    /// or forgot the session: it restarted; or it does not attest the pinned function: deployed since), attests afresh
    /// and sends once more. A session the call started is kept for the next calls once the worker has answered.
    /// </summary>
    private async Task<T> WithAttestedWorkerAsync<T>(AttestationPolicyFile policy, Func<SealingContext, Task<T>> send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var reused = Volatile.Read(ref _attested);
        if (reused is null || !ReferenceEquals(reused.Policy, policy) || Time.GetElapsedTime(reused.VerifiedAt) >= AttestationMaxAge)
        {
            return await SendFreshAsync();
        }

        var sealing = new SealingContext(reused.Worker, reused.Session);
        try
        {
            var result = await send(sealing);
            Keep(reused, sealing);
            return result;
        }
        catch (Exception e) when (e is CloisterApiException { Problem.Code: SealedErrorCodes.SealedBoxInvalid or SealedErrorCodes.SessionUnknown }
            or AttestationRefusedException { Reason: RefusalReasons.FunctionMeasurement })
        {
            Interlocked.CompareExchange(ref _attested, null, reused);
            return await SendFreshAsync();
        }

        async Task<T> SendFreshAsync()
        {
            var attested = await AttestAndKeepAsync(policy, cancellationToken);
            var fresh = new SealingContext(attested.Worker, null);
            var result = await send(fresh);
            Keep(attested, fresh);
            return result;
        }

        static void Keep(AttestedWorker attested, SealingContext sealing)
        {
            if (sealing.Started is { } started)
            {
                attested.Session = started;
            }
        }
    }

    private static SealedTokenItem SealItem(SealingContext sealing, string value, TokenizeOptions? options)
    {
        // The metadata as the router will normalize it: the box's associated data binds exactly these strings.
        var format = string.IsNullOrEmpty(options?.Format) ? "random" : options.Format;
        var alphabet = string.IsNullOrEmpty(options?.Alphabet) ? (format == "fpe" ? "digits" : null) : options.Alphabet;
        var classifier = options?.Classifier ?? "generic";
        var deterministic = options?.Deterministic ?? false;
        var plaintext = Encoding.UTF8.GetBytes(value);
        try
        {
            var box = sealing.Seal(SealedPayloads.TokenizePurpose, SealedPayloads.TokenizeAad(format, alphabet, classifier, deterministic), plaintext, out var replyKey);
            replyKey.Dispose();
            return new SealedTokenItem(Convert.ToBase64String(box), format, alphabet, classifier, deterministic, options?.TtlSeconds, options?.Metadata);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Opens a reply under <paramref name="key"/>; a reply that does not open is a <see cref="SealedResponseException"/>.</summary>
    internal static byte[] Open(SealedReplyKey key, byte[] aad, string? base64)
    {
        try
        {
            return key.Open(aad, Convert.FromBase64String(base64 ?? ""));
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            throw new SealedResponseException("The sealed answer does not open with this request's reply key.");
        }
    }
}
