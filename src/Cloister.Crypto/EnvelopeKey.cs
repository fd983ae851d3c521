using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Cloister.Crypto;

/// <summary>An AES-256 key for <see cref="Envelope"/> blobs that reuses its AES-GCM set-up across calls.</summary>
/// <remarks>
/// <para>
/// Ownership: the instance keeps a copy of the key in pinned memory (never moved, so never copied by the GC)
/// and a small pool of <see cref="AesGcm"/> instances; <see cref="Dispose"/> zeroes the copy and disposes the pool.
/// </para>
/// <para>
/// Thread safety: <see cref="AesGcm"/> is not documented as safe for concurrent use, so each call rents an
/// instance for itself. All members except <see cref="Dispose"/> may be called concurrently; Dispose must not
/// race with them.
/// </para>
/// </remarks>
public sealed class EnvelopeKey : IDisposable
{
    // Enough idle instances for every core to have one in flight; beyond that, extras are disposed on return.
    private static readonly int MaxPooled = Environment.ProcessorCount * 2;

    private readonly byte[] _key;
    private readonly ConcurrentQueue<AesGcm> _pool = new();
    private int _pooledCount;
    private volatile bool _disposed;

    /// <summary>Copies a 32-byte AES-256 key.</summary>
    /// <exception cref="ArgumentException">The key is not 32 bytes.</exception>
    public EnvelopeKey(ReadOnlySpan<byte> key32)
    {
        Envelope.ValidateKey(key32);
        _key = GC.AllocateArray<byte>(Envelope.KeySize, pinned: true);
        key32.CopyTo(_key);
    }

    /// <summary>Same as <see cref="Envelope.Seal(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> with this key.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        byte[] blob = new byte[Envelope.GetSealedLength(plaintext.Length)];
        Seal(plaintext, associatedData, blob);
        return blob;
    }

    /// <summary>Seals into <paramref name="destination"/> and returns the number of bytes written.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than <see cref="Envelope.GetSealedLength"/>.</exception>
    public int Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        AesGcm gcm = Rent();
        try
        {
            return Envelope.SealCore(gcm, plaintext, associatedData, destination);
        }
        finally
        {
            Return(gcm);
        }
    }

    /// <summary>Same as <see cref="Envelope.TryOpen(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, out byte[])"/> with this key.</summary>
    public bool TryOpen(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> associatedData, out byte[]? plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        plaintext = null;
        if (!Envelope.HasValidHeader(blob))
        {
            return false;
        }

        byte[] buffer = new byte[blob.Length - Envelope.Overhead];
        if (!TryOpen(blob, associatedData, buffer, out _))
        {
            return false;
        }

        plaintext = buffer;
        return true;
    }

    /// <summary>Span form of TryOpen; on failure no plaintext is left in the destination.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than the plaintext.</exception>
    public bool TryOpen(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> associatedData, Span<byte> destination, out int bytesWritten)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        bytesWritten = 0;
        if (!Envelope.HasValidHeader(blob))
        {
            return false;
        }

        Span<byte> plaintext = Envelope.GetPlaintextDestination(blob, destination);
        AesGcm gcm = Rent();
        try
        {
            if (!Envelope.TryOpenCore(gcm, blob, associatedData, plaintext))
            {
                return false;
            }
        }
        finally
        {
            Return(gcm);
        }

        bytesWritten = plaintext.Length;
        return true;
    }

    /// <summary>Zeroes the key copy and disposes the pooled AES-GCM instances.</summary>
    public void Dispose()
    {
        _disposed = true;
        DrainPool();
        CryptographicOperations.ZeroMemory(_key);
    }

    private AesGcm Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_pool.TryDequeue(out AesGcm? gcm))
        {
            Interlocked.Decrement(ref _pooledCount);
            return gcm;
        }

        return new AesGcm(_key, Envelope.TagSize);
    }

    private void Return(AesGcm gcm)
    {
        if (_disposed)
        {
            gcm.Dispose();
            return;
        }

        if (Interlocked.Increment(ref _pooledCount) > MaxPooled)
        {
            Interlocked.Decrement(ref _pooledCount);
            gcm.Dispose();
            return;
        }

        _pool.Enqueue(gcm);

        // Dispose may have drained the pool between the check above and the enqueue.
        if (_disposed)
        {
            DrainPool();
        }
    }

    private void DrainPool()
    {
        while (_pool.TryDequeue(out AesGcm? gcm))
        {
            gcm.Dispose();
        }
    }
}
