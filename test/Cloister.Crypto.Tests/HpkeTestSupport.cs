using System.Text.Json;

namespace Cloister.Crypto.Tests;

public sealed record HpkeEncryption(int SequenceNumber, byte[] Plaintext, byte[] Aad, byte[] Nonce, byte[] Ciphertext);

public sealed record HpkeExport(byte[] Context, int Length, byte[] Value);

/// <summary>RFC 9180 Appendix A.3.1 (see vectors/README.md).</summary>
public sealed record HpkeVector(
    byte[] Info,
    byte[] IkmE,
    byte[] PkEm,
    byte[] SkEm,
    byte[] IkmR,
    byte[] PkRm,
    byte[] SkRm,
    byte[] Enc,
    byte[] SharedSecret,
    byte[] Key,
    byte[] BaseNonce,
    byte[] ExporterSecret,
    IReadOnlyList<HpkeEncryption> Encryptions,
    IReadOnlyList<HpkeExport> Exports);

internal static class HpkeTestSupport
{
    private static readonly Lazy<HpkeVector> A31 = new(Load);

    public static HpkeVector Vector => A31.Value;

    private static HpkeVector Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "vectors", "rfc9180-a3-base-p256-sha256-aes128gcm.json");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement root = document.RootElement;
        Assert.Equal(0, root.GetProperty("mode").GetInt32());
        Assert.Equal(0x10, root.GetProperty("kem_id").GetInt32());
        Assert.Equal(1, root.GetProperty("kdf_id").GetInt32());
        Assert.Equal(1, root.GetProperty("aead_id").GetInt32());
        return new HpkeVector(
            Hex(root, "info"),
            Hex(root, "ikmE"),
            Hex(root, "pkEm"),
            Hex(root, "skEm"),
            Hex(root, "ikmR"),
            Hex(root, "pkRm"),
            Hex(root, "skRm"),
            Hex(root, "enc"),
            Hex(root, "shared_secret"),
            Hex(root, "key"),
            Hex(root, "base_nonce"),
            Hex(root, "exporter_secret"),
            [.. root.GetProperty("encryptions").EnumerateArray().Select(e => new HpkeEncryption(
                e.GetProperty("sequence_number").GetInt32(),
                Hex(e, "pt"),
                Hex(e, "aad"),
                Hex(e, "nonce"),
                Hex(e, "ct")))],
            [.. root.GetProperty("exports").EnumerateArray().Select(e => new HpkeExport(
                Hex(e, "exporter_context"),
                e.GetProperty("L").GetInt32(),
                Hex(e, "exported_value")))]);
    }

    private static byte[] Hex(JsonElement element, string name)
    {
        return Convert.FromHexString(element.GetProperty(name).GetString()!);
    }
}
