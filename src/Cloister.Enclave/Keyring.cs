using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Cloister.Crypto;
using Cloister.Protocol;

namespace Cloister.Enclave;

/// <summary>Names one tenant key.</summary>
internal readonly record struct KeyId(string TenantId, string Purpose, int Version)
{
    /// <summary>
    /// The version under which the FF1 and fingerprint keys are held: they are never rotated
    /// (<see cref="KeyPurpose"/>), so they only ever exist as version 1.
    /// </summary>
    public const int UnrotatedVersion = 1;

    public static KeyId Data(string tenantId, int version) => new(tenantId, KeyPurpose.Data, version);

    public static KeyId Fpe(string tenantId) => new(tenantId, KeyPurpose.Fpe, UnrotatedVersion);

    public static KeyId Fingerprint(string tenantId) => new(tenantId, KeyPurpose.Fingerprint, UnrotatedVersion);
}

/// <summary>
/// The unwrapped tenant keys the enclave holds in memory, already set up for use: an
/// <see cref="EnvelopeKey"/> per data-key version, an <see cref="Ff1"/> per fpe alphabet, the
/// fingerprint key, for each tenant the enclave has served.
/// </summary>
/// <remarks>
/// Keys arrive from the key broker; the keyring copies them into pinned memory (the GC never moves, and
/// so never copies, them) and zeroes what it was given. Keys are only added, never replaced or removed
/// while the enclave runs, so an object handed out stays valid until <see cref="Dispose"/>, which zeroes
/// everything and must not race with requests. Nothing evicts a tenant yet: memory grows with the number
/// of tenants served (about 2 KB each).
/// </remarks>
internal sealed class Keyring : IDisposable
{
    /// <summary>Size of every tenant key in bytes (AES-256, HMAC-SHA256).</summary>
    public const int KeySize = 32;

    private readonly ConcurrentDictionary<(string TenantId, int Version), EnvelopeKey> _dataKeys = new();
    private readonly ConcurrentDictionary<string, FpeCiphers> _fpe = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _fingerprintKeys = new(StringComparer.Ordinal);

    public bool Contains(KeyId id) => id.Purpose switch
    {
        KeyPurpose.Data => _dataKeys.ContainsKey((id.TenantId, id.Version)),
        KeyPurpose.Fpe => id.Version == KeyId.UnrotatedVersion && _fpe.ContainsKey(id.TenantId),
        KeyPurpose.Fingerprint => id.Version == KeyId.UnrotatedVersion && _fingerprintKeys.ContainsKey(id.TenantId),
        _ => false,
    };

    public bool TryGetDataKey(string tenantId, int version, [NotNullWhen(true)] out EnvelopeKey? key)
        => _dataKeys.TryGetValue((tenantId, version), out key);

    public bool TryGetFpe(string tenantId, [NotNullWhen(true)] out FpeCiphers? ciphers)
        => _fpe.TryGetValue(tenantId, out ciphers);

    public bool TryGetFingerprintKey(string tenantId, [NotNullWhen(true)] out byte[]? key)
        => _fingerprintKeys.TryGetValue(tenantId, out key);

    /// <summary>Take ownership of <paramref name="keys"/>: each is set up in the keyring and the original zeroed.</summary>
    /// <remarks>A key of the wrong size or an unknown purpose or version is dropped (zeroed), not held.</remarks>
    public void Add(string tenantId, IEnumerable<UnwrappedKey> keys)
    {
        foreach (var key in keys)
        {
            try
            {
                if (key.Key.Length == KeySize && !Contains(new KeyId(tenantId, key.Purpose, key.Version)))
                {
                    Add(tenantId, key);
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key.Key);
            }
        }
    }

    public void Dispose()
    {
        foreach (var key in _dataKeys.Values)
        {
            key.Dispose();
        }

        foreach (var ciphers in _fpe.Values)
        {
            ciphers.Dispose();
        }

        foreach (var key in _fingerprintKeys.Values)
        {
            CryptographicOperations.ZeroMemory(key);
        }

        _dataKeys.Clear();
        _fpe.Clear();
        _fingerprintKeys.Clear();
    }

    // A concurrent request may load the same key first; both copies are equal, so the loser is discarded.
    private void Add(string tenantId, UnwrappedKey key)
    {
        switch (key.Purpose)
        {
            case KeyPurpose.Data when key.Version >= 1:
                var dataKey = new EnvelopeKey(key.Key);
                if (!_dataKeys.TryAdd((tenantId, key.Version), dataKey))
                {
                    dataKey.Dispose();
                }

                break;

            case KeyPurpose.Fpe when key.Version == KeyId.UnrotatedVersion:
                var ciphers = new FpeCiphers(tenantId, key.Key);
                if (!_fpe.TryAdd(tenantId, ciphers))
                {
                    ciphers.Dispose();
                }

                break;

            case KeyPurpose.Fingerprint when key.Version == KeyId.UnrotatedVersion:
                var copy = GC.AllocateArray<byte>(KeySize, pinned: true);
                key.Key.CopyTo(copy, 0);
                if (!_fingerprintKeys.TryAdd(tenantId, copy))
                {
                    CryptographicOperations.ZeroMemory(copy);
                }

                break;
        }
    }
}

/// <summary>A tenant's FF1 instances (one per fpe alphabet; FF1 is keyed per radix) and its FF1 tweak.</summary>
internal sealed class FpeCiphers : IDisposable
{
    private readonly Ff1[] _byAlphabet;
    private readonly byte[] _tweak = new byte[ValueCrypto.TweakSize];

    public FpeCiphers(string tenantId, ReadOnlySpan<byte> key)
    {
        var ciphers = new Ff1[FpeAlphabet.All.Length];
        foreach (var alphabet in FpeAlphabet.All)
        {
            ciphers[alphabet.Index] = new Ff1(key, alphabet.Radix);
        }

        _byAlphabet = ciphers;
        ValueCrypto.FpeTweak(tenantId, _tweak);
    }

    public ReadOnlySpan<byte> Tweak => _tweak;

    public Ff1 For(FpeAlphabet alphabet) => _byAlphabet[alphabet.Index];

    public void Dispose()
    {
        foreach (var cipher in _byAlphabet)
        {
            cipher.Dispose();
        }
    }
}
