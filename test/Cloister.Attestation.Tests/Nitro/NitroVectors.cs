namespace Cloister.Attestation.Tests.Nitro;

/// <summary>
/// The shared Nitro vectors and the times EXPECTED.md pins: each a few minutes after the document's timestamp, inside
/// its leaf certificate's three hours (valid 08:58:02, leaf 08:57:59..11:58:02; debug 13:50:06, leaf 13:49:51..16:49:54;
/// base64 15:03:30, leaf 14:37:09..17:37:12).
/// </summary>
internal static class NitroVectors
{
    public static readonly DateTimeOffset ValidAt = new(2022, 10, 13, 9, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset DebugAt = new(2022, 10, 12, 14, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Base64At = new(2023, 9, 18, 15, 10, 0, TimeSpan.Zero);

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "vectors", "nitro");

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(Directory, name));

    public static byte[] Valid => Read("evervault_valid-attestation-doc-bytes");

    public static byte[] DebugDoc => Read("evervault_debug-mode-attestation-doc-bytes");

    public static byte[] Base64Doc => Read("evervault_valid-attestation-doc-base64");

    public static EvidenceBundle Bundle(byte[] bytes) => new(TeeType.Nitro, bytes, []);
}
