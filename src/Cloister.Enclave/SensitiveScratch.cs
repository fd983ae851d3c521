using System.Buffers;
using System.Security.Cryptography;

namespace Cloister.Enclave;

/// <summary>
/// Scratch bytes derived from a value (its UTF-8 form, a MAC input): on the caller's stack when small,
/// from the shared pool otherwise, and zeroed on dispose either way, so no copy of a value outlives
/// the operation that needed it.
/// </summary>
internal ref struct SensitiveScratch
{
    /// <summary>Stack buffer size callers pass; values and MAC inputs are usually far smaller.</summary>
    public const int StackSize = 256;

    private readonly byte[]? _rented;

    public SensitiveScratch(int size, Span<byte> stack)
    {
        if (size <= stack.Length)
        {
            Span = stack[..size];
        }
        else
        {
            _rented = ArrayPool<byte>.Shared.Rent(size);
            Span = _rented.AsSpan(0, size);
        }
    }

    public Span<byte> Span { get; }

    public readonly void Dispose()
    {
        CryptographicOperations.ZeroMemory(Span);
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
        }
    }
}
