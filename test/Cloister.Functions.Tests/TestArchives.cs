namespace Cloister.Functions.Tests;

/// <summary>Reads what <see cref="Archives"/> builds, as a deploy does.</summary>
internal static class TestArchives
{
    public static bool TryRead(byte[] tarGz, out FunctionBundle? bundle, out string? error, BundleLimits? limits = null)
    {
        using var stream = new MemoryStream(tarGz);
        return FunctionBundle.TryReadTarGz(stream, limits, out bundle, out error);
    }

    public static FunctionBundle Read(byte[] tarGz)
    {
        Assert.True(TryRead(tarGz, out var bundle, out var error), error);
        return bundle!;
    }

    public static FunctionManifest Manifest(string json)
    {
        Assert.True(FunctionManifestJson.TryParse(json, out var manifest, out var error), error);
        return manifest;
    }

    /// <summary>A minimal x86-64 ELF header (ET_EXEC), padded to 64 bytes: enough for the runtime check.</summary>
    public static byte[] ElfHeader(ushort machine = 62, byte elfClass = 2)
    {
        var bytes = new byte[128];
        bytes[0] = 0x7F;
        bytes[1] = (byte)'E';
        bytes[2] = (byte)'L';
        bytes[3] = (byte)'F';
        bytes[4] = elfClass;
        bytes[5] = 1;
        bytes[6] = 1;
        bytes[16] = 2;
        bytes[18] = (byte)machine;
        bytes[19] = (byte)(machine >> 8);
        return bytes;
    }
}
