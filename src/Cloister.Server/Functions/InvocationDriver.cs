using Cloister.Protocol;
using Cloister.Storage;

namespace Cloister.Server.Functions;

/// <summary>What one invocation runs and for whom.</summary>
/// <param name="TenantId">The caller's tenant: every store step is confined to it.</param>
/// <param name="Actor">The caller's API key id (audit entries of tokens the invocation stores).</param>
/// <param name="InvocationId">The router's id for the invocation.</param>
/// <param name="Function">The version that runs.</param>
/// <param name="ArgsJson">The args, a JSON object.</param>
/// <param name="CurrentKeyVersion">The tenant's current data-key version.</param>
/// <param name="SealedInput">A sealed invocation's box (the args are inside; <paramref name="ArgsJson"/> is <c>{}</c>).</param>
/// <param name="Admission">Its place in the invocation gate (<see cref="InvocationService"/>): it runs once granted and gives the slot back when done.</param>
internal sealed record InvocationContext(string TenantId, string Actor, string InvocationId, FunctionVersionRecord Function, string ArgsJson, int CurrentKeyVersion, byte[]? SealedInput = null, FairGate.Ticket? Admission = null);

/// <summary>
/// Drives one invocation through the enclave (src/Cloister.Protocol/FunctionMessages.cs): sends
/// <see cref="InvokeFunctionRequest"/>, resends it once with the package when the enclave lacks it, answers every
/// <see cref="InvocationPendingResponse"/> from the store with a <see cref="ContinueInvocationRequest"/> for the same
/// step, and returns the <see cref="InvocationCompletedResponse"/>. Anything else from the enclave ends the invocation
/// with an error; the driver never throws for the enclave's behaviour, only for cancellation and store failures.
/// </summary>
/// <remarks>
/// Lookups are answered only with live tokens of the caller's tenant (unknown, expired and other tenants' tokens are
/// all null, so they look alike to the function). Args and results pass through as opaque JSON and are never logged.
/// </remarks>
internal sealed class InvocationDriver(EnclaveClient enclave, IFunctionStore functionStore, ITokenStore tokenStore, TimeProvider time)
{
    /// <summary>Most store steps one invocation may take; a function needs one lookup per reveal batch and one store per tokenize batch.</summary>
    public const int MaxSteps = 1024;

    /// <summary>Most tokens one lookup or store step may name.</summary>
    public const int MaxTokensPerStep = 10_000;

    public async Task<InvocationCompletedResponse> RunAsync(InvocationContext context, CancellationToken cancellationToken)
    {
        var invoke = new InvokeFunctionRequest(
            context.InvocationId,
            new FunctionRef(context.Function.Name, context.Function.Version, context.Function.Measurement),
            context.ArgsJson,
            context.CurrentKeyVersion,
            SealedInput: context.SealedInput)
        { TenantId = context.TenantId };

        EnclaveRequest next = invoke;
        var packageSent = false;
        var step = 0;
        while (true)
        {
            var response = await enclave.SendAsync(next, cancellationToken);
            switch (response)
            {
                case InvocationCompletedResponse done when done.InvocationId == context.InvocationId:
                    return Normalize(context, done);

                case FunctionRequiredResponse required when !packageSent && required.InvocationId == context.InvocationId && required.Measurement == context.Function.Measurement:
                    var bundle = await functionStore.GetFunctionBundleAsync(context.TenantId, context.Function.Name, context.Function.Version, cancellationToken);
                    if (bundle is null)
                    {
                        return Failed(context, "function-not-found", "The function was deleted while the invocation started.");
                    }

                    packageSent = true;
                    next = invoke with { Package = new FunctionPackage(context.Function.ManifestJson, bundle) };
                    break;

                case InvocationPendingResponse pending when pending.InvocationId == context.InvocationId:
                    step++;
                    if (step > MaxSteps)
                    {
                        return Failed(context, EnclaveErrorCodes.Internal, $"The invocation exceeded {MaxSteps} store steps.");
                    }

                    var answer = await AnswerAsync(context, pending, step, cancellationToken);
                    if (answer is null)
                    {
                        return Failed(context, EnclaveErrorCodes.Internal, $"The enclave sent a malformed store step (step {step}).");
                    }

                    next = answer;
                    break;

                case EnclaveErrorResponse error:
                    return Failed(context, error.Error.Code, error.Error.Detail);

                default:
                    return Failed(context, EnclaveErrorCodes.Internal, $"The enclave answered the invocation with an unexpected {response.GetType().Name}.");
            }
        }
    }

    /// <summary>Performs a lookup or store step; null when the step is malformed.</summary>
    private async Task<ContinueInvocationRequest?> AnswerAsync(InvocationContext context, InvocationPendingResponse pending, int expectedStep, CancellationToken cancellationToken)
    {
        if (pending.Step != expectedStep || (pending.LookupTokens is null) == (pending.StoreTokens is null))
        {
            return null;
        }

        if (pending.LookupTokens is { } lookup)
        {
            if (lookup.Count > MaxTokensPerStep || lookup.Any(t => t is null))
            {
                return null;
            }

            var now = time.GetUtcNow();
            var found = new StoredTokenRecord?[lookup.Count];
            for (var i = 0; i < lookup.Count; i++)
            {
                var record = await tokenStore.GetTokenAsync(context.TenantId, lookup[i], cancellationToken);
                found[i] = record is null || record.ExpiresAt <= now
                    ? null
                    : new StoredTokenRecord(record.Token, record.Format, record.Alphabet, record.Classifier, record.KeyVersion, record.Ciphertext);
            }

            return new ContinueInvocationRequest(context.InvocationId, pending.Step, Found: found) { TenantId = context.TenantId };
        }

        var toStore = pending.StoreTokens!;
        if (toStore.Count > MaxTokensPerStep || toStore.Any(t => t?.Token is null || t.Format is null || t.Classifier is null || t.Mask is null))
        {
            return null;
        }

        var created = time.GetUtcNow();
        var records = toStore.Select(t => new TokenRecord(
            context.TenantId, t.Token, t.Format, t.Alphabet, t.Classifier, t.KeyVersion, t.Ciphertext, t.Fingerprint,
            DeterministicKey: null, t.Mask, MetadataJson: null, created, ExpiresAt: null)).ToList();
        var outcomes = await tokenStore.InsertTokensAsync(
            context.TenantId,
            records,
            inserted => inserted.Count == 0 ? null : new AuditEntry(context.TenantId, context.Actor, "token.create", [.. inserted.Select(r => r.Token)], $"by invocation {context.InvocationId}"),
            cancellationToken);
        var stored = outcomes.Select(o => o.Status == InsertStatus.Inserted).ToList();
        return new ContinueInvocationRequest(context.InvocationId, pending.Step, Stored: stored) { TenantId = context.TenantId };
    }

    /// <summary>
    /// Holds the enclave to its contract: exactly one of result, error and sealed result; a sealed invocation's outcome
    /// sealed, any other's kept encrypted (<see cref="InvocationCompletedResponse.Stored"/>). A completion that breaks it
    /// becomes the driver's own failure, so that nothing the enclave sent is stored in clear.
    /// </summary>
    private static InvocationCompletedResponse Normalize(InvocationContext context, InvocationCompletedResponse done)
    {
        var logs = done.Logs ?? [];
        var revealed = done.RevealedTokens ?? [];
        if ((done.ResultJson is null ? 0 : 1) + (done.Error is null ? 0 : 1) + (done.SealedResult is null ? 0 : 1) != 1)
        {
            return new InvocationCompletedResponse(done.InvocationId, null, new EnclaveError(EnclaveErrorCodes.Internal, "The enclave's completion did not have exactly one of a result, an error and a sealed result."), done.Warm, logs, revealed);
        }

        var kept = context.SealedInput is null
            ? done.Stored is { KeyVersion: >= 1, Ciphertext: not null } && done.SealedResult is null
            : done.SealedResult is not null && done.Stored is null;
        if (!kept)
        {
            return new InvocationCompletedResponse(done.InvocationId, null, new EnclaveError(EnclaveErrorCodes.Internal, "The enclave's completion did not carry its outcome sealed or encrypted for keeping."), done.Warm, logs, revealed);
        }

        return done with { Logs = logs, RevealedTokens = revealed };
    }

    private static InvocationCompletedResponse Failed(InvocationContext context, string code, string detail)
        => new(context.InvocationId, null, new EnclaveError(code, detail), Warm: false, Logs: [], RevealedTokens: []);
}
