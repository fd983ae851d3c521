using Cloister.Crypto;

namespace Cloister.Enclave;

/// <summary>The <c>random</c> format: <c>tok_</c> followed by 22 base58 characters.</summary>
internal static class RandomTokens
{
    public const string Prefix = "tok_";

    /// <summary>58^22 ≈ 2^128.9: at least 128 random bits per token.</summary>
    public const int Length = 22;

    /// <summary>The token reveals nothing of the value, not even its length.</summary>
    public const string Mask = "****";

    /// <summary>58^22 does not fit a long.</summary>
    public const long SpaceSize = long.MaxValue;

    public static string Draw(string value)
    {
        while (true)
        {
            var token = Prefix + Base58.RandomString(Length);
            if (!string.Equals(token, value, StringComparison.Ordinal))
            {
                return token;
            }
        }
    }
}
