using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Attestation.Policy;
using Cloister.Client.Sealed;
using Cloister.Crypto.Hpke;
using Cloister.Protocol;

namespace Cloister.Client;

// Sealed operations (docs/api.md, "Sealed requests"): every call first fetches the worker's attestation for a fresh
// random nonce and verifies it against the policy (AttestationCheck); only then does it seal the request to the
// attested key. Answers are sealed to an ephemeral key pair generated for the one request.
public sealed partial class CloisterClient
{
    /// <summary>The clock attestation checks use (certificate validity, evidence freshness).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>GET /v1/attestation for <paramref name="nonce"/> (16..64 bytes): the raw answer, unverified.</summary>
    public Task<WorkerAttestationInfo> GetAttestationAsync(byte[] nonce, CancellationToken cancellationToken = default)
        => SendAsync<object, WorkerAttestationInfo>(HttpMethod.Get, "v1/attestation?nonce=" + Convert.ToHexStringLower(nonce), null, null, ClientJsonContext.Default.WorkerAttestationInfo, cancellationToken);

    /// <summary>Fetches the worker's attestation for a fresh random nonce and verifies it against <paramref name="policy"/>.</summary>
    /// <exception cref="AttestationRefusedException">The attestation does not verify.</exception>
    public async Task<VerifiedWorker> AttestAsync(AttestationPolicyFile policy, CancellationToken cancellationToken = default)
    {
        var nonce = RandomNumberGenerator.GetBytes(32);
        var attestation = await GetAttestationAsync(nonce, cancellationToken);
        return AttestationCheck.Verify(attestation, nonce, policy, Time.GetUtcNow());
    }

    /// <summary>Tokenizes values sealed to the attested worker: the router stores the tokens and never sees the values.</summary>
    /// <exception cref="AttestationRefusedException">The attestation does not verify (nothing was sent).</exception>
    public async Task<BatchCreated> CreateSealedTokensAsync(IEnumerable<(string Value, TokenizeOptions? Options)> items, AttestationPolicyFile policy, CancellationToken cancellationToken = default)
    {
        var list = items.ToList();
        var worker = await AttestAsync(policy, cancellationToken);
        var body = new SealedTokenizeBody([.. list.Select(item => SealItem(worker, item.Value, item.Options))]);
        return await SendAsync(HttpMethod.Post, "v1/sealed/tokens", body, ClientJsonContext.Default.SealedTokenizeBody, ClientJsonContext.Default.BatchCreated, cancellationToken);
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
        var worker = await AttestAsync(policy, cancellationToken);
        using var responseKey = HpkeKeyPair.Generate();
        var payload = SealedPayloads.Encode(new SealedRevealPayload(tokens, Convert.ToHexStringLower(responseKey.PublicKey)));
        var box = SealedBox.Seal(worker.PublicKey, SealedPayloads.RevealPurpose, [], payload);
        var answer = await SendAsync(HttpMethod.Post, "v1/sealed/reveal", new SealedRevealBody(tokens, Convert.ToBase64String(box)),
            ClientJsonContext.Default.SealedRevealBody, ClientJsonContext.Default.SealedRevealedBody, cancellationToken);

        var opened = Open(responseKey, SealedPayloads.RevealResultPurpose, SealedPayloads.TokensAad(tokens), answer.SealedResult);
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
        return pending.Open(pending.SyncResult!.InvocationId, pending.SyncResult.Result);
    }

    /// <summary>Starts a sealed invocation; keep the returned handle (it holds the response key) to open the outcome from <see cref="GetInvocationAsync"/>.</summary>
    /// <exception cref="AttestationRefusedException">The attestation or the pin does not verify (nothing was sent).</exception>
    public Task<PendingSealedInvocation> StartSealedInvocationAsync(string name, JsonElement args, AttestationPolicyFile policy, string? measurement = null, CancellationToken cancellationToken = default)
        => SendSealedInvocationAsync(name, args, policy, measurement, async: true, cancellationToken);

    private async Task<PendingSealedInvocation> SendSealedInvocationAsync(string name, JsonElement args, AttestationPolicyFile policy, string? measurement, bool async, CancellationToken cancellationToken)
    {
        var worker = await AttestAsync(policy, cancellationToken);
        string? latest = null;
        if (measurement is null && policy.Functions.TryGetValue(name, out var pins) && pins.Count(worker.Functions.Contains) > 1)
        {
            // Several accepted versions are deployed: pin the one the router runs by default.
            latest = (await GetFunctionAsync(name, cancellationToken)).Versions.MaxBy(v => v.Version)?.Measurement;
        }

        var pinned = AttestationCheck.PinFunction(worker, policy, name, measurement, latest);
        var responseKey = HpkeKeyPair.Generate();
        try
        {
            var payload = SealedPayloads.Encode(new SealedInvokePayload(name, pinned, args, Convert.ToHexStringLower(responseKey.PublicKey)));
            var box = SealedBox.Seal(worker.PublicKey, SealedPayloads.InvokePurpose, [], payload);
            CryptographicOperations.ZeroMemory(payload);
            var body = new SealedInvokeBody(Convert.ToBase64String(box), pinned);
            var path = $"v1/sealed/functions/{Uri.EscapeDataString(name)}/invoke";
            if (async)
            {
                var accepted = await SendAsync(HttpMethod.Post, path + "?mode=async", body, ClientJsonContext.Default.SealedInvokeBody, ClientJsonContext.Default.InvocationAccepted, cancellationToken);
                return new PendingSealedInvocation(accepted.InvocationId, pinned, responseKey, null);
            }

            var result = await SendAsync(HttpMethod.Post, path, body, ClientJsonContext.Default.SealedInvokeBody, ClientJsonContext.Default.InvocationResult, cancellationToken);
            return new PendingSealedInvocation(result.InvocationId, pinned, responseKey, result);
        }
        catch
        {
            responseKey.Dispose();
            throw;
        }
    }

    private static SealedTokenItemBody SealItem(VerifiedWorker worker, string value, TokenizeOptions? options)
    {
        // The metadata as the router will normalize it: the box's associated data binds exactly these strings.
        var format = string.IsNullOrEmpty(options?.Format) ? "random" : options.Format;
        var alphabet = string.IsNullOrEmpty(options?.Alphabet) ? (format == "fpe" ? "digits" : null) : options.Alphabet;
        var classifier = options?.Classifier ?? "generic";
        var deterministic = options?.Deterministic ?? false;
        var plaintext = Encoding.UTF8.GetBytes(value);
        try
        {
            var box = SealedBox.Seal(worker.PublicKey, SealedPayloads.TokenizePurpose, SealedPayloads.TokenizeAad(format, alphabet, classifier, deterministic), plaintext);
            return new SealedTokenItemBody(Convert.ToBase64String(box), format, alphabet, classifier, deterministic, options?.TtlSeconds, options?.Metadata);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Opens a box sealed to <paramref name="key"/>; a box that does not open is a <see cref="SealedResponseException"/>.</summary>
    internal static byte[] Open(HpkeKeyPair key, string purpose, byte[] aad, string? base64)
    {
        try
        {
            return SealedBox.Open(key, purpose, aad, Convert.FromBase64String(base64 ?? ""));
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            throw new SealedResponseException("The sealed answer does not open with this request's response key.");
        }
    }
}
