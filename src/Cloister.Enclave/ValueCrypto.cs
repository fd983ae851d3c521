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
/// <item>an invocation's kept outcome: AES-256-GCM under data key <c>v</c>, associated data
/// <c>lp("invocation-outcome") ‖ lp(tenantId) ‖ lp(invocationId) ‖ lp(v)</c>; the label keeps an outcome from ever
/// opening as a token's ciphertext (tenant ids are never that label), and the rest from moving to another row, tenant or version.</item>
/// </list>
/// </remarks>
internal static class ValueCrypto
{
    private static ReadOnlySpan<byte> FingerprintLabel => "value"u8;

    private static ReadOnlySpan<byte> DeterministicLabel => "det"u8;

    private static ReadOnlySpan<byte> TweakLabel => "cloister/fpe-tweak/v1"u8;

    private static ReadOnlySpan<byte> OutcomeLabel => "invocation-outcome"u8;

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
        using var associatedData = AssociatedData([], tenantId, token, version, stackalloc byte[SensitiveScratch.StackSize]);
        return dataKey.Seal(plaintext.Span, associatedData.Span);
    }

    public static bool TryOpen(EnvelopeKey dataKey, string tenantId, string token, int version, byte[] ciphertext, out string? value)
    {
        using var associatedData = AssociatedData([], tenantId, token, version, stackalloc byte[SensitiveScratch.StackSize]);
        if (!dataKey.TryOpen(ciphertext, associatedData.Span, out var plaintext) || plaintext is null)
        {
            value = null;
            return false;
        }

        value = Encoding.UTF8.GetString(plaintext);
        CryptographicOperations.ZeroMemory(plaintext);
        return true;
    }

    /// <summary>Encrypts an invocation's outcome (the worker's encoding of it) for the router to keep.</summary>
    public static byte[] SealOutcome(EnvelopeKey dataKey, string tenantId, string invocationId, int version, ReadOnlySpan<byte> outcome)
    {
        using var associatedData = AssociatedData(OutcomeLabel, tenantId, invocationId, version, stackalloc byte[SensitiveScratch.StackSize]);
        return dataKey.Seal(outcome, associatedData.Span);
    }

    /// <summary>Opens what <see cref="SealOutcome"/> made; false for another tenant, invocation or key version, or any change. The caller zeroes the outcome.</summary>
    public static bool TryOpenOutcome(EnvelopeKey dataKey, string tenantId, string invocationId, int version, byte[] ciphertext, out byte[]? outcome)
    {
        using var associatedData = AssociatedData(OutcomeLabel, tenantId, invocationId, version, stackalloc byte[SensitiveScratch.StackSize]);
        return dataKey.TryOpen(ciphertext, associatedData.Span, out outcome) && outcome is not null;
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

    /// <summary><c>[lp(label) ‖] lp(tenantId) ‖ lp(id) ‖ lp(version)</c>; an empty label is left out (token ciphertexts have none).</summary>
    private static SensitiveScratch AssociatedData(ReadOnlySpan<byte> label, string tenantId, string id, int version, Span<byte> stack)
    {
        var size = (label.IsEmpty ? 0 : LengthPrefixedWriter.SizeOf(label)) + LengthPrefixedWriter.SizeOf(tenantId) + LengthPrefixedWriter.SizeOf(id) + LengthPrefixedWriter.Int32Size;
        var scratch = new SensitiveScratch(size, stack);
        var writer = new LengthPrefixedWriter(scratch.Span);
        if (!label.IsEmpty)
        {
            writer.Write(label);
        }

        writer.Write(tenantId);
        writer.Write(id);
        writer.Write(version);
        return scratch;
    }
}
