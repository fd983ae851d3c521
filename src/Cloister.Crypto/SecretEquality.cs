using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Cloister.Crypto;

/// <summary>The one audited helper for comparing secrets (keys, MACs, API tokens). Use it instead of <c>==</c> or <c>SequenceEqual</c>.</summary>
/// <remarks>
/// Invariant: the running time depends on the lengths of the inputs but not on their contents, so it leaks
/// nothing about where two equal-length values first differ. Length is treated as public: inputs of different
/// lengths return false at once. Where the length itself is secret, compare fixed-length digests
/// (for example HMAC-SHA256 of both values) instead.
/// </remarks>
public static class SecretEquality
{
    /// <summary>Whether the two byte strings are equal, in time independent of their contents.</summary>
    public static bool FixedTimeEquals(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    /// <summary>Whether the two character strings are equal (ordinal), in time independent of their contents.</summary>
    public static bool FixedTimeEquals(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        return CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(a), MemoryMarshal.AsBytes(b));
    }
}
