using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Cloister.Functions;

/// <summary>
/// A function's measurement: SHA-384 over a canonical, domain-separated, length-prefixed encoding of its manifest and
/// bundle. It is what attestation claims and key-release policies name. The encoding is specified in
/// docs/function-measurement.md:
/// <code>
/// SHA-384( LP("cloister.function.measurement.v1") || LP(canonical manifest JSON) || U64(file count)
///          || for each file, sorted by UTF-8 path bytes: LP(path UTF-8) || U8(executable ? 1 : 0) || LP(content) )
/// </code>
/// where <c>U64</c> is a big-endian unsigned 64-bit integer and <c>LP(x) = U64(len(x)) || x</c>.
/// </summary>
public static class FunctionMeasurement
{
    /// <summary>The domain-separation label that starts the encoding.</summary>
    public const string Domain = "cloister.function.measurement.v1";

    /// <summary>Computes the measurement as 96 lower-case hex digits.</summary>
    public static string Compute(FunctionManifest manifest, FunctionBundle bundle) =>
        Convert.ToHexStringLower(ComputeBytes(manifest, bundle));

    /// <summary>Computes the 48-byte measurement.</summary>
    public static byte[] ComputeBytes(FunctionManifest manifest, FunctionBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(bundle);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
        AppendPrefixed(hash, Encoding.ASCII.GetBytes(Domain));
        AppendPrefixed(hash, FunctionManifestJson.ToCanonicalJson(manifest));
        AppendU64(hash, (ulong)bundle.Files.Count);
        foreach (var file in bundle.Files)
        {
            AppendPrefixed(hash, Encoding.UTF8.GetBytes(file.Path));
            hash.AppendData([file.Executable ? (byte)1 : (byte)0]);
            AppendPrefixed(hash, file.Content.Span);
        }

        return hash.GetHashAndReset();
    }

    private static void AppendPrefixed(IncrementalHash hash, ReadOnlySpan<byte> data)
    {
        AppendU64(hash, (ulong)data.Length);
        hash.AppendData(data);
    }

    private static void AppendU64(IncrementalHash hash, ulong value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, value);
        hash.AppendData(buffer);
    }
}
