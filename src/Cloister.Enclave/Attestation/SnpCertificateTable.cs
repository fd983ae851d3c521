using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Cloister.Enclave.Attestation;

/// <summary>
/// The SEV-SNP certificate table the kernel returns in configfs-tsm <c>auxblob</c> (the extended guest request's
/// certificate buffer, AMD GHCB specification 56421, section 4.1.8.1 "SNP Extended Guest Request").
/// </summary>
/// <remarks>
/// Layout: entries of 24 bytes — a GUID (16 bytes, RFC 4122 byte order as libuuid stores it), then the offset and the
/// length of the certificate (each a little-endian uint32, the offset counted from the start of the table) — ended by
/// an all-zero entry; the certificates (DER) follow. The parser is strict: every entry must lie inside the buffer
/// and the terminator must be present. Unknown GUIDs (e.g. OVMF's) are skipped.
/// </remarks>
internal static class SnpCertificateTable
{
    private const int EntrySize = 24;

    /// <summary>The GUIDs we return, in the order a verifier wants them (signing key first, then its chain).</summary>
    private static readonly (string Name, byte[] Guid)[] KnownEntries =
    [
        ("vcek", Convert.FromHexString("63da758de6644564adc5f4b93be8accd")),
        ("vlek", Convert.FromHexString("a8074bc2a25a483eaae639c045a0b8a1")),
        ("ask", Convert.FromHexString("4ab7b379bbac4fe4a02f05aef327c782")),
        ("ark", Convert.FromHexString("c0b406a4a803495297433fb6014cd0ae")),
    ];

    /// <summary>The GUID of <paramref name="name"/> ("vcek", "vlek", "ask", "ark"), RFC 4122 bytes.</summary>
    public static ReadOnlySpan<byte> Guid(string name)
    {
        return KnownEntries.First(e => e.Name == name).Guid;
    }

    /// <summary>Parses the table; the certificates of known entries, VCEK or VLEK first, then ASK and ARK.</summary>
    public static bool TryParse(ReadOnlySpan<byte> table, [NotNullWhen(true)] out IReadOnlyList<byte[]>? certificates, [NotNullWhen(false)] out string? error)
    {
        certificates = null;
        var found = new byte[KnownEntries.Length][];
        for (int position = 0; ; position += EntrySize)
        {
            if (position + EntrySize > table.Length)
            {
                error = "auxblob: certificate table has no terminating entry";
                return false;
            }

            ReadOnlySpan<byte> entry = table.Slice(position, EntrySize);
            if (!entry.ContainsAnyExcept((byte)0))
            {
                break;
            }

            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]);
            if (length == 0 || offset > (uint)table.Length || length > (uint)table.Length - offset)
            {
                error = $"auxblob: certificate table entry {position / EntrySize} lies outside the buffer";
                return false;
            }

            int known = IndexOf(entry[..16]);
            if (known >= 0)
            {
                if (found[known] is not null)
                {
                    error = $"auxblob: certificate table lists {KnownEntries[known].Name} twice";
                    return false;
                }

                found[known] = table.Slice((int)offset, (int)length).ToArray();
            }
        }

        certificates = [.. found.Where(c => c is not null)];
        error = null;
        return true;
    }

    private static int IndexOf(ReadOnlySpan<byte> guid)
    {
        for (int i = 0; i < KnownEntries.Length; i++)
        {
            if (guid.SequenceEqual(KnownEntries[i].Guid))
            {
                return i;
            }
        }

        return -1;
    }
}
