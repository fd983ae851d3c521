using Microsoft.Data.Sqlite;

namespace Cloister.Storage;

/// <summary>Column lists, parameter binding and row reading shared by the store's statements.</summary>
internal static class Rows
{
    public const string TokenColumns = "tenant_id, token, format, alphabet, classifier, key_version, ciphertext, fingerprint, det_key, mask, metadata, created_at, expires_at";

    public static readonly string[] TokenParameters = ["$tenant", "$token", "$format", "$alphabet", "$classifier", "$key_version", "$ciphertext", "$fingerprint", "$det_key", "$mask", "$metadata", "$created_at", "$expires_at"];

    public static void BindToken(SqliteCommand command, TokenRecord token)
    {
        var p = command.Parameters;
        p[0].Value = token.TenantId;
        p[1].Value = token.Token;
        p[2].Value = token.Format;
        p[3].Value = Nullable(token.Alphabet);
        p[4].Value = token.Classifier;
        p[5].Value = token.KeyVersion;
        p[6].Value = Nullable(token.Ciphertext);
        p[7].Value = Nullable(token.Fingerprint);
        p[8].Value = Nullable(token.DeterministicKey);
        p[9].Value = token.Mask;
        p[10].Value = Nullable(token.MetadataJson);
        p[11].Value = token.CreatedAt.ToUnixTimeMilliseconds();
        p[12].Value = token.ExpiresAt is { } expires ? expires.ToUnixTimeMilliseconds() : DBNull.Value;
    }

    /// <summary>Reads a token row selected with <see cref="TokenColumns"/>.</summary>
    public static TokenRecord ReadToken(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.GetString(2),
        OptionalString(r, 3),
        r.GetString(4),
        r.GetInt32(5),
        OptionalBytes(r, 6),
        OptionalBytes(r, 7),
        OptionalBytes(r, 8),
        r.GetString(9),
        OptionalString(r, 10),
        Time(r.GetInt64(11)),
        r.IsDBNull(12) ? null : Time(r.GetInt64(12)));

    public static List<TokenRecord> ReadTokens(SqliteCommand command)
    {
        var tokens = new List<TokenRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            tokens.Add(ReadToken(reader));
        }

        return tokens;
    }

    public static TokenRecord? ReadSingleToken(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadToken(reader) : null;
    }

    public static object Nullable(object? value) => value ?? DBNull.Value;

    public static string? OptionalString(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    public static byte[]? OptionalBytes(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetFieldValue<byte[]>(ordinal);

    public static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);
}
