using Cloister.Api.Contracts;

namespace Cloister.Enclave;

/// <summary>The token format names of <see cref="Cloister.Protocol.TokenizeItem.Format"/> (the API's <see cref="TokenFormatNames"/>).</summary>
internal static class TokenFormats
{
    /// <summary><c>tok_</c> + 22 base58 characters (the default).</summary>
    public const string Random = TokenFormatNames.Random;

    /// <summary>Random digits, as many as the value has characters.</summary>
    public const string Numeric = TokenFormatNames.Numeric;

    /// <summary>A Luhn-valid card number keeping the value's first 6 and last 4 digits.</summary>
    public const string Pan = TokenFormatNames.Pan;

    /// <summary>A Luhn-valid card number keeping the value's last 4 digits.</summary>
    public const string PanLast4 = TokenFormatNames.PanLast4;

    /// <summary><c>###-##-</c> + the value's last 4 digits.</summary>
    public const string SsnLast4 = TokenFormatNames.SsnLast4;

    /// <summary>FF1 format-preserving encryption; deterministic, the token is its own ciphertext.</summary>
    public const string Fpe = TokenFormatNames.Fpe;

    /// <summary>The format a request names, with null or empty meaning <see cref="Random"/>.</summary>
    public static string Canonical(string? format) => string.IsNullOrEmpty(format) ? Random : format;
}
