using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;

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
internal sealed record NitroVerifiedChain(DateTimeOffset NotBefore, DateTimeOffset NotAfter, NitroLeafKey LeafKey)
{
    public bool IsValidAt(DateTimeOffset time) => time >= NotBefore && time <= NotAfter;
}

/// <summary>
/// The leaf's ECDSA P-384 public key, with a small pool of key objects for concurrent verifications.
/// </summary>
/// <remarks>
/// Importing a P-384 public key costs about 2.5 ms here (OpenSSL validates the point), three times the
/// verification itself (0.85 ms), so the imported objects are kept. An <see cref="ECDsa"/> instance is not
/// documented as thread-safe, hence one object per concurrent caller. Pooled objects are not disposed when a
/// cache entry is dropped, because a concurrent verification may still hold one; their SafeHandles release them.
/// </remarks>
internal sealed class NitroLeafKey
{
    private readonly ECParameters _parameters;
    private readonly ConcurrentBag<ECDsa> _pool = [];
    private readonly int _maxPooled = Math.Max(2, Environment.ProcessorCount);
    private int _pooled;

    public NitroLeafKey(ECDsa first)
    {
        _parameters = first.ExportParameters(includePrivateParameters: false);
        Return(first);
    }

    /// <summary>Whether <paramref name="message"/>'s signature verifies with this key (the COSE library builds the
    /// Sig_structure and takes the hash from the protected alg); false for a signature that cannot be checked.</summary>
    public bool Verify(CoseSign1Message message)
    {
        ECDsa key;
        if (_pool.TryTake(out var pooled))
        {
            Interlocked.Decrement(ref _pooled);
            key = pooled;
        }
        else
        {
            key = ECDsa.Create(_parameters);
        }

        try
        {
            return message.VerifyEmbedded(key);
        }
        catch (CryptographicException)
        {
            return false;
        }
        finally
        {
            Return(key);
        }
    }

    private void Return(ECDsa key)
    {
        if (Interlocked.Increment(ref _pooled) <= _maxPooled)
        {
            _pool.Add(key);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
            key.Dispose();
        }
    }
}
