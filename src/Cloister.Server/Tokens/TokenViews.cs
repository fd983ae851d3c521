using System.Text.Json;
using Cloister.Storage;

namespace Cloister.Server.Tokens;

/// <summary>A stored token as the API shows it: never the value, the ciphertext or the fingerprint.</summary>
internal static class TokenViews
{
    public static TokenCreated Created(TokenRecord r) => new(r.Token, r.Format, r.Alphabet, r.Classifier, r.Mask, r.CreatedAt, r.ExpiresAt);

    public static BatchCreated Batch(IReadOnlyList<TokenRecord> records) => new([.. records.Select(Created)]);

    public static TokenInfo Info(TokenRecord r) => new(
        r.Token, r.Format, r.Alphabet, r.Classifier, r.Mask, r.DeterministicKey is not null, r.KeyVersion, r.CreatedAt, r.ExpiresAt,
        r.MetadataJson is null ? null : JsonDocument.Parse(r.MetadataJson).RootElement.Clone());
}
