using System.Security.Cryptography;
using System.Text;
using Cloister.Crypto;

namespace Cloister.Enclave;

/// <summary>The keyed functions of a value: its ciphertext, its fingerprint and its deterministic key.</summary>
/// <remarks>
/// Encodings (<c>lp</c> is <see cref="LengthPrefixedWriter"/>; strings are UTF-8; versions 4-byte big-endian):
/// <list type="bullet">
/// <item>ciphertext: AES-256-GCM (<see cref="Envelope"/>) of the value under data key <c>v</c>, associated data
/// <c>lp(tenantId) ‖ lp(token) ‖ lp(v)</c>, so a ciphertext moved to another tenant, token or key version fails to open.</item>
/// <item>fingerprint: HMAC-SHA256(fingerprint key, <c>lp("value") ‖ lp(value)</c>); equal values have equal
/// fingerprints in a tenant whatever their format, which is what search needs.</item>
/// <item>deterministic key: HMAC-SHA256(fingerprint key, <c>lp("det") ‖ lp(format) ‖ lp(alphabet) ‖ lp(classifier) ‖ lp(value)</c>),
/// alphabet "" outside fpe; the labels keep it from ever equalling a fingerprint.</item>
/// </list>
/// </remarks>
internal static class ValueCrypto
{
    private static ReadOnlySpan<byte> FingerprintLabel => "value"u8;

    private static ReadOnlySpan<byte> DeterministicLabel => "det"u8;

    private static ReadOnlySpan<byte> TweakLabel => "cloister/fpe-tweak/v1"u8;

    /// <summary>Size of the FF1 tweak in bytes.</summary>
    public const int TweakSize = 8;

    public static byte[] Fingerprint(ReadOnlySpan<byte> fingerprintKey, string value)
    {
        var size = LengthPrefixedWriter.SizeOf(FingerprintLabel) + LengthPrefixedWriter.SizeOf(value);
        using var scratch = new SensitiveScratch(size, stackalloc byte[SensitiveScratch.StackSize]);
        var writer = new LengthPrefixedWriter(scratch.Span);
        writer.Write(FingerprintLabel);
        writer.Write(value);
        return HMACSHA256.HashData(fingerprintKey, writer.Written);
    }

    public static byte[] DeterministicKey(ReadOnlySpan<byte> fingerprintKey, string format, string alphabet, string classifier, string value)
    {
        var size = LengthPrefixedWriter.SizeOf(DeterministicLabel) + LengthPrefixedWriter.SizeOf(format)
            + LengthPrefixedWriter.SizeOf(alphabet) + LengthPrefixedWriter.SizeOf(classifier) + LengthPrefixedWriter.SizeOf(value);
        using var scratch = new SensitiveScratch(size, stackalloc byte[SensitiveScratch.StackSize]);
        var writer = new LengthPrefixedWriter(scratch.Span);
        writer.Write(DeterministicLabel);
        writer.Write(format);
        writer.Write(alphabet);
        writer.Write(classifier);
        writer.Write(value);
        return HMACSHA256.HashData(fingerprintKey, writer.Written);
    }

    public static byte[] Seal(EnvelopeKey dataKey, string tenantId, string token, int version, string value)
    {
        using var plaintext = new SensitiveScratch(Encoding.UTF8.GetByteCount(value), stackalloc byte[SensitiveScratch.StackSize]);
        Encoding.UTF8.GetBytes(value, plaintext.Span);
        using var associatedData = AssociatedData(tenantId, token, version, stackalloc byte[SensitiveScratch.StackSize]);
        return dataKey.Seal(plaintext.Span, associatedData.Span);
    }

    public static bool TryOpen(EnvelopeKey dataKey, string tenantId, string token, int version, byte[] ciphertext, out string? value)
    {
        using var associatedData = AssociatedData(tenantId, token, version, stackalloc byte[SensitiveScratch.StackSize]);
        if (!dataKey.TryOpen(ciphertext, associatedData.Span, out var plaintext) || plaintext is null)
        {
            value = null;
            return false;
        }

        value = Encoding.UTF8.GetString(plaintext);
        CryptographicOperations.ZeroMemory(plaintext);
        return true;
    }

    /// <summary>
    /// The tenant's FF1 tweak: the first 8 bytes of SHA-256(<c>lp("cloister/fpe-tweak/v1") ‖ lp(tenantId)</c>).
    /// </summary>
    /// <remarks>
    /// FF1 tweaks are public by design; the secret is the tenant's FF1 key. Deriving the tweak from the
    /// tenant id alone (not from a key) keeps it stable for the life of the tenant, which fpe tokens
    /// need because they are their own ciphertext.
    /// </remarks>
    public static void FpeTweak(string tenantId, Span<byte> tweak)
    {
        var size = LengthPrefixedWriter.SizeOf(TweakLabel) + LengthPrefixedWriter.SizeOf(tenantId);
        using var scratch = new SensitiveScratch(size, stackalloc byte[SensitiveScratch.StackSize]);
        var writer = new LengthPrefixedWriter(scratch.Span);
        writer.Write(TweakLabel);
        writer.Write(tenantId);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(writer.Written, hash);
        hash[..TweakSize].CopyTo(tweak);
    }

    private static SensitiveScratch AssociatedData(string tenantId, string token, int version, Span<byte> stack)
    {
        var size = LengthPrefixedWriter.SizeOf(tenantId) + LengthPrefixedWriter.SizeOf(token) + LengthPrefixedWriter.Int32Size;
        var scratch = new SensitiveScratch(size, stack);
        var writer = new LengthPrefixedWriter(scratch.Span);
        writer.Write(tenantId);
        writer.Write(token);
        writer.Write(version);
        return scratch;
    }
}
