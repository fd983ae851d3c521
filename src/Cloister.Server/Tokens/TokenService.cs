using System.Security.Cryptography;
using Cloister.Protocol;
using Cloister.Server.Auth;
using Cloister.Server.Http;
using Cloister.Server.Tenants;
using Cloister.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Tokens;

/// <summary>A validated item to tokenize: a value in the clear (unsealed routes) or <paramref name="SealedValue"/>, the client's sealed box.</summary>
internal sealed record NewToken(string? Value, string Format, string? Alphabet, string Classifier, bool Deterministic, DateTimeOffset? ExpiresAt, string? MetadataJson, byte[]? SealedValue = null);

/// <summary>Either the stored records (in request order) or the first failing item's enclave error.</summary>
internal sealed record CreateOutcome(IReadOnlyList<TokenRecord>? Tokens, EnclaveError? Error, int ErrorIndex);

/// <summary>
/// The router's token operations: asks the enclave for tokens and ciphertexts, stores them with
/// their audit entries, and never holds a key. Values pass through in transit only (unsealed routes).
/// </summary>
internal sealed class TokenService(ITokenStore store, IAuditStore auditStore, EnclaveClient enclave, TenantDirectory tenants, TimeProvider time, IOptions<ServerOptions> options)
{
    public const string FpeFormat = TokenFormatNames.Fpe;

    // Upper bound on collision retries (items resent) in one request. One item needs at most 8 random
    // draws plus a scan of 4,096 candidates; a request whose items need far more is refused.
    private const int MaxRetriesPerRequest = 20_000;

    /// <summary>
    /// Creates validated items (plain or sealed) as one request: the records in request order, or the problem of the first
    /// item that failed (with its index in a batch), 409 token-conflict included.
    /// </summary>
    public async Task<(IReadOnlyList<TokenRecord>? Tokens, ProblemHttpResult? Problem)> CreateAsync(Caller caller, IReadOnlyList<NewToken> items, bool batch, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = await CreateAsync(caller.Tenant, caller.KeyId, items, cancellationToken);
            return outcome.Error is null
                ? (outcome.Tokens, null)
                : (null, Problems.FromEnclave(outcome.Error, batch ? outcome.ErrorIndex : null));
        }
        catch (TokenConflictException e)
        {
            return (null, Problems.Create(StatusCodes.Status409Conflict, "token-conflict", "Token conflict", e.Message));
        }
    }

    public async Task<CreateOutcome> CreateAsync(string tenantId, string actor, IReadOnlyList<NewToken> items, CancellationToken cancellationToken)
    {
        var tenant = await tenants.GetAsync(tenantId, cancellationToken) ?? throw new InvalidOperationException("Caller's tenant does not exist.");
        var results = new TokenRecord?[items.Count];
        var attempts = new int[items.Count];
        var scanStarts = new ulong[items.Count];
        for (var i = 0; i < scanStarts.Length; i++)
        {
            scanStarts[i] = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        }

        // Tokens this request stored, undone if a later retry round fails: a request succeeds or fails whole.
        var created = new List<string>();
        var retries = 0;
        var pending = Enumerable.Range(0, items.Count).ToList();
        try
        {
            while (pending.Count > 0)
            {
                var tokenized = await TokenizeAsync(tenantId, tenant.CurrentDataKeyVersion, items, pending, attempts, scanStarts, cancellationToken);

                var now = time.GetUtcNow();
                var records = new List<TokenRecord>(pending.Count);
                for (var k = 0; k < pending.Count; k++)
                {
                    var result = tokenized[k];
                    if (result.Error is not null)
                    {
                        await UndoAsync(tenantId, actor, created, cancellationToken);
                        return new CreateOutcome(null, result.Error, pending[k]);
                    }

                    var item = items[pending[k]];
                    records.Add(new TokenRecord(
                        tenantId, result.Token!, item.Format, item.Alphabet, item.Classifier, tenant.CurrentDataKeyVersion,
                        result.Ciphertext, result.Fingerprint, result.DeterministicKey, result.Mask ?? "",
                        item.MetadataJson, now, item.ExpiresAt));
                }

                var outcomes = await store.InsertTokensAsync(
                    tenantId,
                    records,
                    inserted => inserted.Count == 0 ? null : new AuditEntry(tenantId, actor, "token.create", inserted.Select(t => t.Token).ToList()),
                    cancellationToken);

                var next = new List<int>();
                for (var k = 0; k < pending.Count; k++)
                {
                    var i = pending[k];
                    if (outcomes[k].Status == InsertStatus.Inserted)
                    {
                        created.Add(records[k].Token);
                    }

                    var existing = await ResolveAsync(tenantId, records[k], outcomes[k], now, cancellationToken);
                    if (existing is not null)
                    {
                        results[i] = existing;
                        continue;
                    }

                    if (outcomes[k].Status == InsertStatus.TokenTaken && items[i].Format != FpeFormat)
                    {
                        attempts[i]++;
                    }

                    next.Add(i);
                }

                // Bounds the work one request can make the single writer do when many items land in nearly full spaces.
                retries += next.Count;
                if (retries > MaxRetriesPerRequest)
                {
                    await UndoAsync(tenantId, actor, created, cancellationToken);
                    return new CreateOutcome(null, new EnclaveError(EnclaveErrorCodes.SpaceExhausted, "Too many token collisions in one request: these values' token spaces are nearly full."), next[0]);
                }

                pending = next;
            }
        }
        catch (Exception e) when (e is TokenConflictException or TransportUnavailableException or EnclaveException or FrameTooLargeException or TenantBusyException)
        {
            // A batch fails whole: tokens stored in an earlier round are removed (the caller got no 201 for them), also
            // when a later round is refused (a sealed batch whose worker restarted between rounds), so that a client
            // resending the batch does not store its first round twice.
            await UndoAsync(tenantId, actor, created, cancellationToken);
            throw;
        }

        return new CreateOutcome(results!, null, -1);
    }

    /// <summary>Deletes (audited) the tokens a failing request had already stored, so that it fails whole.</summary>
    private async Task UndoAsync(string tenantId, string actor, List<string> created, CancellationToken cancellationToken)
    {
        foreach (var token in created)
        {
            await store.DeleteTokenAsync(tenantId, token, new AuditEntry(tenantId, actor, "token.delete", [token], "request failed; undoing its earlier tokens"), CancellationToken.None);
        }
    }

    /// <summary>The record that answers this item, or null to try it again.</summary>
    private async Task<TokenRecord?> ResolveAsync(string tenantId, TokenRecord attempted, InsertOutcome outcome, DateTimeOffset now, CancellationToken cancellationToken)
    {
        switch (outcome.Status)
        {
            case InsertStatus.Inserted:
                return attempted;
            case InsertStatus.DeterministicExists when outcome.Existing is { } existing:
                if (IsExpired(existing, now))
                {
                    await store.PurgeTokenAsync(tenantId, existing.Token, cancellationToken);
                    return null;
                }

                return existing;
            case InsertStatus.TokenTaken when attempted.Format == FpeFormat:
                // FF1 is a permutation under the tenant's key and tweak: the same fpe token in the same
                // alphabet can only come from the same value, so the existing record is this value's token.
                var taken = await store.GetTokenAsync(tenantId, attempted.Token, cancellationToken);
                if (taken is null || IsExpired(taken, now))
                {
                    if (taken is not null)
                    {
                        await store.PurgeTokenAsync(tenantId, taken.Token, cancellationToken);
                    }

                    return null;
                }

                // Same value; but a different classifier would silently hand back someone else's record.
                if (taken.Format == FpeFormat && taken.Alphabet == attempted.Alphabet && taken.Classifier == attempted.Classifier)
                {
                    return taken;
                }

                throw new TokenConflictException();
            default:
                return null;
        }
    }

    /// <summary>
    /// Tokenizes the pending items, in order, in as many parts as it takes to keep each request and answer within
    /// <see cref="FrameLimits.PartBudget"/> (one part for any ordinary batch). Parts go one after the other, so a
    /// sealed batch's first box, which starts its sealing session, reaches the worker before the boxes sealed in it.
    /// </summary>
    private async Task<List<TokenizeResult>> TokenizeAsync(string tenantId, int keyVersion, IReadOnlyList<NewToken> items, List<int> pending, int[] attempts, ulong[] scanStarts, CancellationToken cancellationToken)
    {
        var results = new List<TokenizeResult>(pending.Count);
        foreach (var part in Parts(items, pending, FrameLimits.PartBudget(options.Value.MaxFrameBytes)))
        {
            var response = await enclave.SendAsync<TokenizeResponse>(ToRequest(tenantId, keyVersion, items, part, attempts, scanStarts), cancellationToken);
            if (response.Results is null || response.Results.Count != part.Count || response.Results.Any(r => r is null || (r.Error is null && r.Token is null)))
            {
                throw new EnclaveException(new EnclaveError(EnclaveErrorCodes.Internal, "The enclave answered a tokenize request with the wrong number of results."));
            }

            results.AddRange(response.Results);
        }

        return results;
    }

    /// <summary>Splits <paramref name="pending"/> into runs whose estimated request and answer fit the part budget (at least one item each).</summary>
    internal static IEnumerable<List<int>> Parts(IReadOnlyList<NewToken> items, List<int> pending, long budget)
    {
        var part = new List<int>();
        long request = 0, answer = 0;
        foreach (var i in pending)
        {
            var (itemRequest, itemAnswer) = FrameCost(items[i]);
            if (part.Count > 0 && (request + itemRequest > budget || answer + itemAnswer > budget))
            {
                yield return part;
                part = [];
                request = answer = 0;
            }

            part.Add(i);
            request += itemRequest;
            answer += itemAnswer;
        }

        if (part.Count > 0)
        {
            yield return part;
        }
    }

    /// <summary>
    /// An upper bound on what one item adds to a tokenize request and to its answer: the value (or box) on the way in;
    /// token and mask (each at most the value's JSON), the ciphertext and two hashes in base64 on the way out.
    /// </summary>
    private static (long Request, long Answer) FrameCost(NewToken item)
    {
        long valueBytes, valueJson, request;
        if (item.SealedValue is { } box)
        {
            valueBytes = box.Length;
            valueJson = FrameLimits.WorstJsonStringBytes(box.Length);
            request = FrameLimits.Base64Bytes(box.Length);
        }
        else
        {
            var value = item.Value!;
            valueBytes = System.Text.Encoding.UTF8.GetByteCount(value);
            valueJson = value.Length <= 256 ? FrameLimits.WorstJsonStringBytes(value.Length) : FrameLimits.JsonStringBytes(value);
            request = valueJson;
        }

        var answer = (2 * valueJson) + FrameLimits.Base64Bytes(valueBytes + FrameLimits.EnvelopeOverheadBytes) + (2 * FrameLimits.Base64Bytes(32));
        return (request + FrameLimits.ItemOverheadBytes, answer + FrameLimits.ItemOverheadBytes);
    }

    /// <summary>The enclave request for the pending items: sealed when the client sealed them (a request is all one or the other).</summary>
    private static EnclaveRequest ToRequest(string tenantId, int keyVersion, IReadOnlyList<NewToken> items, List<int> pending, int[] attempts, ulong[] scanStarts)
    {
        if (items[0].SealedValue is not null)
        {
            // The client's own deterministic flag: the box's associated data binds it; the enclave adds fpe's.
            return new SealedTokenizeRequest(keyVersion, [.. pending.Select(i => new SealedTokenizeItem(
                items[i].SealedValue!, items[i].Format, items[i].Alphabet, items[i].Classifier, items[i].Deterministic, attempts[i], scanStarts[i]))])
            { TenantId = tenantId };
        }

        return new TokenizeRequest(keyVersion, [.. pending.Select(i => new TokenizeItem(
            items[i].Value!, items[i].Format, items[i].Alphabet, items[i].Classifier, items[i].Deterministic || items[i].Format == FpeFormat, attempts[i], scanStarts[i]))])
        { TenantId = tenantId };
    }

    public async Task<TokenRecord?> GetAsync(string tenantId, string token, CancellationToken cancellationToken)
    {
        var record = await store.GetTokenAsync(tenantId, token, cancellationToken);
        if (record is not null && IsExpired(record, time.GetUtcNow()))
        {
            await store.PurgeTokenAsync(tenantId, token, cancellationToken);
            return null;
        }

        return record;
    }

    /// <summary>Reveals a token's value; the audit entry is committed before the value is returned.</summary>
    public async Task<(string? Value, EnclaveError? Error, bool Found)> RevealAsync(string tenantId, string actor, string token, CancellationToken cancellationToken)
    {
        var record = await GetAsync(tenantId, token, cancellationToken);
        if (record is null)
        {
            return (null, null, false);
        }

        var request = new RevealRequest([new RevealItem(record.Token, record.Format, record.Alphabet, record.KeyVersion, record.Ciphertext)]) { TenantId = tenantId };
        var response = await enclave.SendAsync<RevealResponse>(request, cancellationToken);
        var result = response.Results[0];
        if (result.Error is not null)
        {
            await auditStore.AppendAuditAsync(new AuditEntry(tenantId, actor, "token.reveal.failed", [token], result.Error.Code), cancellationToken);
            return (null, result.Error, true);
        }

        await auditStore.AppendAuditAsync(new AuditEntry(tenantId, actor, "token.reveal", [token]), cancellationToken);
        return (result.Value, null, true);
    }

    /// <summary>
    /// A sealed reveal: looks the tokens up, has the enclave reveal them under the request's reply key, and audits each
    /// before the sealed answer is returned. The response is null when a token is not a live token of the tenant (Missing is its index).
    /// </summary>
    public async Task<(SealedRevealResponse? Response, int Missing)> SealedRevealAsync(string tenantId, string actor, IReadOnlyList<string> tokens, byte[] sealedRequest, CancellationToken cancellationToken)
    {
        var items = new List<RevealItem>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            if (await GetAsync(tenantId, tokens[i], cancellationToken) is not { } record)
            {
                return (null, i);
            }

            items.Add(new RevealItem(record.Token, record.Format, record.Alphabet, record.KeyVersion, record.Ciphertext));
        }

        var response = await enclave.SendAsync<SealedRevealResponse>(new SealedRevealRequest(items, sealedRequest) { TenantId = tenantId }, cancellationToken);
        for (var i = 0; i < tokens.Count; i++)
        {
            var error = i < response.Errors?.Count ? response.Errors[i] : null;
            await auditStore.AppendAuditAsync(
                error is null
                    ? new AuditEntry(tenantId, actor, "token.reveal", [tokens[i]], "sealed")
                    : new AuditEntry(tenantId, actor, "token.reveal.failed", [tokens[i]], "sealed " + error),
                cancellationToken);
        }

        return (response, -1);
    }

    public Task<bool> DeleteAsync(string tenantId, string actor, string token, CancellationToken cancellationToken)
        => store.DeleteTokenAsync(tenantId, token, new AuditEntry(tenantId, actor, "token.delete", [token]), cancellationToken);

    public async Task<IReadOnlyList<TokenRecord>> SearchAsync(string tenantId, string actor, string value, CancellationToken cancellationToken)
    {
        var response = await enclave.SendAsync<FingerprintResponse>(new FingerprintRequest(value) { TenantId = tenantId }, cancellationToken);
        var found = await store.FindByFingerprintAsync(tenantId, response.Fingerprint, 1_000, cancellationToken);
        var now = time.GetUtcNow();
        var live = found.Where(t => !IsExpired(t, now)).ToList();

        // Search answers "does this value have a token?", so each one is audited (the matches, never the value).
        await auditStore.AppendAuditAsync(new AuditEntry(tenantId, actor, "token.search", live.Select(t => t.Token).ToList(), $"{live.Count} found"), cancellationToken);
        return live;
    }

    private static bool IsExpired(TokenRecord record, DateTimeOffset now) => record.ExpiresAt is { } at && at <= now;
}

/// <summary>
/// An fpe token is taken by a record that is not this request's: the same value under another
/// classifier, or (vanishingly rare) a token of another format.
/// </summary>
internal sealed class TokenConflictException : Exception
{
    public TokenConflictException()
        : base("This value's fpe token already exists with another classifier (or is taken by a token of another format).")
    {
    }
}
