namespace Cloister.Attestation.Tests.Nitro;

/// <summary>The shared Nitro vectors and the times EXPECTED.md pins.</summary>
internal static class NitroVectors
{
    public static readonly DateTimeOffset ValidAt = new(2022, 10, 13, 9, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset DebugAt = new(2022, 10, 12, 12, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Base64At = new(2023, 9, 18, 12, 0, 0, TimeSpan.Zero);

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "vectors", "nitro");

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(Directory, name));

    public static byte[] Valid => Read("evervault_valid-attestation-doc-bytes");

    public static byte[] DebugDoc => Read("evervault_debug-mode-attestation-doc-bytes");

    public static byte[] Base64Doc => Read("evervault_valid-attestation-doc-base64");

    public static EvidenceBundle Bundle(byte[] bytes) => new(TeeType.Nitro, bytes, []);
}
