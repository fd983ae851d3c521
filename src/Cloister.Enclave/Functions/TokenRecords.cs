using System.Security.Cryptography;
using Cloister.Functions;
using Cloister.Protocol;

namespace Cloister.Enclave.Functions;

/// <summary>
/// What one invocation does with token records: decides whether a looked-up record may be revealed
/// (the manifest's classifiers), decrypts it with the tenant's keys, and creates new tokens that the
/// router stores (retrying a taken token as a tokenize request's router does).
/// </summary>
internal sealed class TokenRecords(TokenOperations operations, string tenantId, int keyVersion, FunctionPermissions permissions, RouterSteps steps)
{
    /// <summary>The classifier of tokens the handler creates with <c>ctx.tokenize</c> (and output rules without one).</summary>
    public const string DefaultClassifier = "generic";

    /// <summary>Store attempts per new token within an invocation: random draws, then give up (token-space-exhausted).</summary>
    public const int MaxStoreAttempts = 16;

    public bool MayReveal(StoredTokenRecord record) => permissions.MayReveal(record.Classifier);

    /// <summary>The record's value; only call after <see cref="MayReveal"/>.</summary>
    public RevealResult Decrypt(StoredTokenRecord record)
        => operations.Reveal(tenantId, new RevealItem(record.Token, record.Format, record.Alphabet, record.KeyVersion, record.Ciphertext));

    /// <summary>Tokenizes every item and has the router store the tokens (one store step per round); per item, the token or the error.</summary>
    public async Task<(string? Token, EnclaveError? Error)[]> IssueAsync(IReadOnlyList<TokenizeItem> items, CancellationToken cancellationToken)
    {
        var outcomes = new (string? Token, EnclaveError? Error)[items.Count];
        var pending = Enumerable.Range(0, items.Count).ToList();
        var scanStarts = items.Select(_ => BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8))).ToArray();
        for (var attempt = 0; attempt < MaxStoreAttempts && pending.Count > 0; attempt++)
        {
            var offered = new List<(int Index, NewTokenRecord Record)>();
            foreach (var index in pending)
            {
                var item = items[index] with { Attempt = attempt, ScanStart = scanStarts[index] };
                var result = operations.Tokenize(tenantId, keyVersion, item);
                if (result.Error is { } error)
                {
                    outcomes[index] = (null, error);
                    continue;
                }

                var format = TokenFormats.Canonical(item.Format);
                var alphabet = format == TokenFormats.Fpe ? FpeAlphabet.Find(item.Alphabet)!.Name : null;
                offered.Add((index, new NewTokenRecord(result.Token!, format, alphabet, item.Classifier, keyVersion, result.Ciphertext, result.Fingerprint, result.Mask!)));
            }

            pending.Clear();
            if (offered.Count == 0)
            {
                break;
            }

            var stored = await steps.StoreAsync([.. offered.Select(entry => entry.Record)], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < offered.Count; i++)
            {
                if (stored[i])
                {
                    outcomes[offered[i].Index] = (offered[i].Record.Token, null);
                }
                else
                {
                    pending.Add(offered[i].Index);
                }
            }
        }

        foreach (var index in pending)
        {
            outcomes[index] = (null, new EnclaveError(EnclaveErrorCodes.SpaceExhausted, $"Every token offered in {MaxStoreAttempts} attempts was taken."));
        }

        return outcomes;
    }

    /// <summary>A new token item for <paramref name="value"/> (never deterministic: a function's tokens are fresh).</summary>
    public static TokenizeItem Item(string value, string format, string? classifier)
        => new(value, format, null, classifier ?? DefaultClassifier, Deterministic: false);
}
