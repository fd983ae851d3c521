using System.Security.Cryptography;
using System.Text;
using Cloister.Crypto;

namespace Cloister.Server.Auth;

/// <summary>
/// API key strings: <c>ck_{id}_{secret}</c>. The id (12 base58 characters) locates the row; the secret
/// (44 base58 characters, about 257 random bits) is stored only as its SHA-256 hash and compared in
/// constant time. Base58 has no underscore, so the string splits unambiguously.
/// </summary>
internal static class ApiKeySecret
{
    private const string Prefix = "ck_";
    private const int IdLength = 12;
    private const int SecretLength = 44;

    public static (string Id, string Key, byte[] Hash) Generate()
    {
        var id = Base58.RandomString(IdLength);
        var secret = Base58.RandomString(SecretLength);
        return (id, $"{Prefix}{id}_{secret}", Hash(secret));
    }

    /// <summary>Splits a presented key; false if it is not shaped like one of ours.</summary>
    public static bool TryParse(string presented, out string id, out byte[] secretHash)
    {
        id = "";
        secretHash = [];
        if (presented.Length != Prefix.Length + IdLength + 1 + SecretLength
            || !presented.StartsWith(Prefix, StringComparison.Ordinal)
            || presented[Prefix.Length + IdLength] != '_')
        {
            return false;
        }

        var idPart = presented.AsSpan(Prefix.Length, IdLength);
        var secretPart = presented.AsSpan(Prefix.Length + IdLength + 1);
        if (!Base58.IsBase58(idPart) || !Base58.IsBase58(secretPart))
        {
            return false;
        }

        id = idPart.ToString();
        secretHash = Hash(secretPart);
        return true;
    }

    private static byte[] Hash(ReadOnlySpan<char> secret)
    {
        Span<byte> utf8 = stackalloc byte[SecretLength];
        var written = Encoding.ASCII.GetBytes(secret, utf8);
        var hash = SHA256.HashData(utf8[..written]);
        CryptographicOperations.ZeroMemory(utf8);
        return hash;
    }
}
