using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Cloister.IntegrationTests.Support;

/// <summary>Function bundles and deploy bodies for tests.</summary>
public static class FunctionBundles
{
    public const string TrivialPython = "def handle(event, ctx):\n    return {\"ok\": True}\n";

    /// <summary>A tar.gz of the given files (pax entries, as any tar tool would write them).</summary>
    public static byte[] TarGz(params (string Name, string Content)[] files)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (name, content) in files)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
            }
        }

        return output.ToArray();
    }

    /// <summary>A PUT /v1/functions/{name} body.</summary>
    public static string DeployBody(object manifest, byte[] bundle)
        => JsonSerializer.Serialize(new { manifest, bundle = Convert.ToBase64String(bundle) });

    /// <summary>A python3 function whose main.py is <paramref name="source"/>.</summary>
    public static string Python(string source, object? permissions = null, object? limits = null)
        => DeployBody(Manifest("python3", "main.py", permissions, limits), TarGz(("main.py", source)));

    public static Dictionary<string, object> Manifest(string runtime, string entrypoint, object? permissions = null, object? limits = null)
    {
        var manifest = new Dictionary<string, object> { ["runtime"] = runtime, ["entrypoint"] = entrypoint };
        if (permissions is not null)
        {
            manifest["permissions"] = permissions;
        }

        if (limits is not null)
        {
            manifest["limits"] = limits;
        }

        return manifest;
    }
}
