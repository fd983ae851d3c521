using System.Collections.Concurrent;
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
/// <para>Keys arrive from the key broker; the keyring copies them into pinned memory (the GC never moves, and
/// so never copies, them) and zeroes what it was given.</para>
/// <para>Keys are handed out as <see cref="KeyLease{T}"/>s, held only for the synchronous work that uses them. A key
/// is forgotten (<see cref="ForgetTenantAsync"/>: every key of a deleted tenant; <see cref="ForgetDataKeyAsync"/>: a
/// retired data-key version) by taking it out of the keyring at once, so no new lease finds it, and zeroing it when the
/// last lease of it ends, so a request using it at that moment never sees a zeroed key. A forgotten key is remembered
/// as forgotten for the life of the process (a few dozen bytes per deleted tenant or retired version): the keyring
/// refuses to hold it again, so a request that carried wrapped keys from before the deletion cannot bring it back.</para>
/// <para><see cref="Dispose"/> zeroes everything and must not race with requests.</para>
/// </remarks>
internal sealed class Keyring : IDisposable
{
    /// <summary>Size of every tenant key in bytes (AES-256, HMAC-SHA256).</summary>
    public const int KeySize = 32;

    private readonly ConcurrentDictionary<(string TenantId, int Version), HeldKey<EnvelopeKey>> _dataKeys = new();
    private readonly ConcurrentDictionary<string, HeldKey<FpeCiphers>> _fpe = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HeldKey<PinnedKey>> _fingerprintKeys = new(StringComparer.Ordinal);

    // Adds and forgets take this lock, so that a key is never added after its tenant or version was forgotten.
    private readonly Lock _membership = new();
    private readonly HashSet<string> _forgottenTenants = new(StringComparer.Ordinal);
    private readonly HashSet<(string TenantId, int Version)> _forgottenDataKeys = [];

    public bool Contains(KeyId id) => id.Purpose switch
    {
        KeyPurpose.Data => _dataKeys.ContainsKey((id.TenantId, id.Version)),
        KeyPurpose.Fpe => id.Version == KeyId.UnrotatedVersion && _fpe.ContainsKey(id.TenantId),
        KeyPurpose.Fingerprint => id.Version == KeyId.UnrotatedVersion && _fingerprintKeys.ContainsKey(id.TenantId),
        _ => false,
    };

    /// <summary>The ids of every key held now (never a key byte): for diagnostics and tests.</summary>
    public IReadOnlyList<KeyId> HeldKeyIds()
        => [
            .. _dataKeys.Keys.Select(k => KeyId.Data(k.TenantId, k.Version)),
            .. _fpe.Keys.Select(KeyId.Fpe),
            .. _fingerprintKeys.Keys.Select(KeyId.Fingerprint),
        ];

    /// <summary>A lease of the tenant's data key of <paramref name="version"/>; its <see cref="KeyLease{T}.Key"/> is null when it is not held.</summary>
    public KeyLease<EnvelopeKey> DataKey(string tenantId, int version)
        => _dataKeys.TryGetValue((tenantId, version), out var held) ? held.Lease() : default;

    /// <summary>A lease of the tenant's FF1 ciphers; its <see cref="KeyLease{T}.Key"/> is null when they are not held.</summary>
    public KeyLease<FpeCiphers> Fpe(string tenantId)
        => _fpe.TryGetValue(tenantId, out var held) ? held.Lease() : default;

    /// <summary>A lease of the tenant's fingerprint key; its <see cref="KeyLease{T}.Key"/> is null when it is not held.</summary>
    public KeyLease<PinnedKey> FingerprintKey(string tenantId)
        => _fingerprintKeys.TryGetValue(tenantId, out var held) ? held.Lease() : default;

    /// <summary>Take ownership of <paramref name="keys"/>: each is set up in the keyring and the original zeroed.</summary>
    /// <remarks>A key of the wrong size, an unknown purpose or version, or a forgotten tenant or version is dropped (zeroed), not held.</remarks>
    public void Add(string tenantId, IEnumerable<UnwrappedKey> keys)
    {
        foreach (var key in keys)
        {
            try
            {
                if (key.Key.Length == KeySize)
                {
                    lock (_membership)
                    {
                        if (!IsForgotten(tenantId, key) && !Contains(new KeyId(tenantId, key.Purpose, key.Version)))
                        {
                            Add(tenantId, key);
                        }
                    }
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key.Key);
            }
        }
    }

    /// <summary>
    /// Forgets every key of <paramref name="tenantId"/> and refuses them from now on; completes, with how many keys
    /// were held, when each has been zeroed (at once, or when the last request using it ends).
    /// </summary>
    public Task<int> ForgetTenantAsync(string tenantId)
    {
        List<IHeldKey> removed = [];
        lock (_membership)
        {
            _forgottenTenants.Add(tenantId);
            foreach (var id in _dataKeys.Keys.Where(k => k.TenantId == tenantId))
            {
                Take(_dataKeys, id, removed);
            }

            Take(_fpe, tenantId, removed);
            Take(_fingerprintKeys, tenantId, removed);
        }

        return ReleaseAsync(removed);
    }

    /// <summary>The answer to any request of a forgotten tenant.</summary>
    public static readonly EnclaveError ForgottenTenant =
        new(EnclaveErrorCodes.KeyUnavailable, $"The tenant was deleted and its keys shredded in this worker ({BrokerErrorCodes.KeysShredded}).");

    /// <summary>Whether <paramref name="tenantId"/> was forgotten (<see cref="ForgetTenantAsync"/>): its keys are refused for the life of the process.</summary>
    public bool IsForgotten(string tenantId)
    {
        lock (_membership)
        {
            return _forgottenTenants.Contains(tenantId);
        }
    }

    /// <summary>Forgets data key <paramref name="version"/> of <paramref name="tenantId"/> and refuses it from now on; completes when it has been zeroed.</summary>
    public Task<int> ForgetDataKeyAsync(string tenantId, int version)
    {
        List<IHeldKey> removed = [];
        lock (_membership)
        {
            _forgottenDataKeys.Add((tenantId, version));
            Take(_dataKeys, (tenantId, version), removed);
        }

        return ReleaseAsync(removed);
    }

    public void Dispose()
    {
        List<IHeldKey> removed = [];
        lock (_membership)
        {
            foreach (var id in _dataKeys.Keys)
            {
                Take(_dataKeys, id, removed);
            }

            foreach (var id in _fpe.Keys)
            {
                Take(_fpe, id, removed);
            }

            foreach (var id in _fingerprintKeys.Keys)
            {
                Take(_fingerprintKeys, id, removed);
            }
        }

        _ = ReleaseAsync(removed);
    }

    private bool IsForgotten(string tenantId, UnwrappedKey key)
        => _forgottenTenants.Contains(tenantId) || (key.Purpose == KeyPurpose.Data && _forgottenDataKeys.Contains((tenantId, key.Version)));

    private static void Take<TId, T>(ConcurrentDictionary<TId, HeldKey<T>> keys, TId id, List<IHeldKey> removed)
        where TId : notnull
        where T : class, IDisposable
    {
        if (keys.TryRemove(id, out var held))
        {
            removed.Add(held);
        }
    }

    // The keyring's own hold of each removed key ends here; the last lease zeroes it if one is still out.
    private static async Task<int> ReleaseAsync(List<IHeldKey> removed)
    {
        foreach (var held in removed)
        {
            held.Release();
        }

        await Task.WhenAll(removed.Select(held => held.Zeroed)).ConfigureAwait(false);
        return removed.Count;
    }

    // Called under _membership after Contains said the key is absent, so nothing is replaced.
    private void Add(string tenantId, UnwrappedKey key)
    {
        switch (key.Purpose)
        {
            case KeyPurpose.Data when key.Version >= 1:
                _dataKeys[(tenantId, key.Version)] = new HeldKey<EnvelopeKey>(new EnvelopeKey(key.Key));
                break;

            case KeyPurpose.Fpe when key.Version == KeyId.UnrotatedVersion:
                _fpe[tenantId] = new HeldKey<FpeCiphers>(new FpeCiphers(tenantId, key.Key));
                break;

            case KeyPurpose.Fingerprint when key.Version == KeyId.UnrotatedVersion:
                _fingerprintKeys[tenantId] = new HeldKey<PinnedKey>(new PinnedKey(key.Key));
                break;
        }
    }
}

/// <summary>A key the keyring holds, released once by the keyring when it forgets the key.</summary>
internal interface IHeldKey
{
    /// <summary>Completes when the key has been zeroed.</summary>
    Task Zeroed { get; }

    /// <summary>Ends one hold; the last zeroes the key.</summary>
    void Release();
}

/// <summary>
/// A key with a count of holds: the keyring's own (until it forgets the key) and one per <see cref="KeyLease{T}"/>.
/// The last hold to end disposes (zeroes) the key; once the count reached zero no lease can be taken again.
/// </summary>
internal sealed class HeldKey<T>(T key) : IHeldKey
    where T : class, IDisposable
{
    private readonly TaskCompletionSource _zeroed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _holds = 1;

    public Task Zeroed => _zeroed.Task;

    internal T Key => key;

    /// <summary>A lease of the key, or an empty one when the key has been zeroed meanwhile.</summary>
    public KeyLease<T> Lease()
    {
        var holds = Volatile.Read(ref _holds);
        while (holds > 0)
        {
            var seen = Interlocked.CompareExchange(ref _holds, holds + 1, holds);
            if (seen == holds)
            {
                return new KeyLease<T>(this);
            }

            holds = seen;
        }

        return default;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _holds) == 0)
        {
            key.Dispose();
            _zeroed.TrySetResult();
        }
    }
}

/// <summary>
/// A key in use: <see cref="Key"/> stays valid (not zeroed) until the lease is disposed. Empty (a null key) when the
/// keyring does not hold the key. Dispose it exactly once, promptly, and never use the key afterwards.
/// </summary>
internal readonly struct KeyLease<T> : IDisposable
    where T : class, IDisposable
{
    private readonly HeldKey<T>? _held;

    public KeyLease(HeldKey<T> held) => _held = held;

    /// <summary>The key, or null when the keyring does not hold it.</summary>
    public T? Key => _held?.Key;

    public void Dispose() => _held?.Release();
}

/// <summary>A key kept in pinned memory (never moved, so never copied, by the GC) and zeroed on dispose.</summary>
internal sealed class PinnedKey : IDisposable
{
    private readonly byte[] _bytes = GC.AllocateArray<byte>(Keyring.KeySize, pinned: true);

    public PinnedKey(ReadOnlySpan<byte> key) => key.CopyTo(_bytes);

    public ReadOnlySpan<byte> Bytes => _bytes;

    public void Dispose() => CryptographicOperations.ZeroMemory(_bytes);
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
