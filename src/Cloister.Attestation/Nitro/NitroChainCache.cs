using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Cloister.Attestation.Nitro;

/// <summary>
/// A bounded, thread-safe cache of certificate chains already verified to the pinned root, keyed by the
/// SHA-256 of the leaf and every cabundle certificate. An entry keeps the window in which every certificate
/// of the chain is valid (signatures do not depend on time) and the leaf's public key, so a document whose
/// timestamp falls in the window needs no chain build.
/// </summary>
internal sealed class NitroChainCache(int capacity)
{
    private readonly ConcurrentDictionary<string, NitroVerifiedChain> _entries = new(StringComparer.Ordinal);
    private readonly int _capacity = capacity;

    public int Count => _entries.Count;

    public static string KeyOf(NitroDocument document)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        Append(hash, length, document.Certificate.Span);
        foreach (var certificate in document.CaBundle)
        {
            Append(hash, length, certificate.Span);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public bool TryGet(string key, out NitroVerifiedChain? chain) => _entries.TryGetValue(key, out chain);

    public void Add(string key, NitroVerifiedChain chain)
    {
        if (_capacity <= 0)
        {
            return;
        }

        // Nitro leaves live about 3 hours, so entries age out quickly; dropping everything when full keeps
        // the bound simple and a miss only costs one chain build.
        if (_entries.Count >= _capacity)
        {
            _entries.Clear();
        }

        _entries[key] = chain;
    }

    private static void Append(IncrementalHash hash, Span<byte> length, ReadOnlySpan<byte> data)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        hash.AppendData(length);
        hash.AppendData(data);
    }
}

/// <summary>A chain verified to the pinned root: its common validity window and the leaf's P-384 public key.</summary>
internal sealed record NitroVerifiedChain(DateTimeOffset NotBefore, DateTimeOffset NotAfter, ECParameters LeafKey)
{
    public bool IsValidAt(DateTimeOffset time) => time >= NotBefore && time <= NotAfter;
}
