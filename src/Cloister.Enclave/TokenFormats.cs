namespace Cloister.Enclave;

/// <summary>The token format names of <see cref="Cloister.Protocol.TokenizeItem.Format"/>.</summary>
internal static class TokenFormats
{
    /// <summary><c>tok_</c> + 22 base58 characters (the default).</summary>
    public const string Random = "random";

    /// <summary>Random digits, as many as the value has characters.</summary>
    public const string Numeric = "numeric";

    /// <summary>A Luhn-valid card number keeping the value's first 6 and last 4 digits.</summary>
    public const string Pan = "pan";

    /// <summary>A Luhn-valid card number keeping the value's last 4 digits.</summary>
    public const string PanLast4 = "pan-last4";

    /// <summary><c>###-##-</c> + the value's last 4 digits.</summary>
    public const string SsnLast4 = "ssn-last4";

    /// <summary>FF1 format-preserving encryption; deterministic, the token is its own ciphertext.</summary>
    public const string Fpe = "fpe";

    /// <summary>The format a request names, with null or empty meaning <see cref="Random"/>.</summary>
    public static string Canonical(string? format) => string.IsNullOrEmpty(format) ? Random : format;
}
