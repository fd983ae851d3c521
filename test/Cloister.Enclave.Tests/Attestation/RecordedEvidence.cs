using System.Buffers.Binary;
using System.Security.Cryptography.X509Certificates;
using Cloister.Enclave.Attestation;

namespace Cloister.Enclave.Tests.Attestation;

/// <summary>The recorded real evidence in vectors/attestation (see its README for provenance and license).</summary>
internal static class RecordedEvidence
{
    public static byte[] SnpReport => Read("virteesev_report_milan.bin");

    public static byte[] OtherSnpReport => Read("gosevguest_attestation.bin");

    public static byte[] Vcek => Read("virteesev_vcek_milan.der");

    public static byte[] Ask => X509Certificate2.CreateFromPem(File.ReadAllText(PathOf("virteesev_milan_ask.pem"))).RawData;

    public static byte[] Ark => X509Certificate2.CreateFromPem(File.ReadAllText(PathOf("virteesev_milan_ark.pem"))).RawData;

    public static byte[] TdxQuote => Read("trustee_tdx_quote_5.dat");

    public static byte[] NitroDocument => Read("evervault_valid-attestation-doc-bytes");

    /// <summary>An SNP certificate table (GHCB 56421 4.1.8.1) holding <paramref name="entries"/> in that order.</summary>
    public static byte[] CertificateTable(params (string Name, byte[] Der)[] entries)
    {
        int tableSize = (entries.Length + 1) * 24;
        byte[] table = new byte[tableSize + entries.Sum(e => e.Der.Length)];
        int offset = tableSize;
        for (int i = 0; i < entries.Length; i++)
        {
            Span<byte> entry = table.AsSpan(i * 24, 24);
            SnpCertificateTable.Guid(entries[i].Name).CopyTo(entry);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], (uint)offset);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[20..], (uint)entries[i].Der.Length);
            entries[i].Der.CopyTo(table, offset);
            offset += entries[i].Der.Length;
        }

        return table;
    }

    private static byte[] Read(string name) => File.ReadAllBytes(PathOf(name));

    private static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "vectors", "attestation", name);
}
