using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Cloister.Cli.Bench;

/// <summary>The trivial functions <c>cloister bench functions</c> deploys, and their deploy request bodies.</summary>
internal static class FunctionBenchBundle
{
    /// <summary>The runtimes measured, in order.</summary>
    public static readonly string[] Runtimes = ["python3", "node"];

    /// <summary>
    /// The manifest's concurrency is the benchmark's highest client count, so that the load phases
    /// measure queueing in the server rather than refusals.
    /// </summary>
    public const int Concurrency = 16;

    /// <summary>
    /// The body of <c>PUT /v1/functions/{name}</c> for a trivial handler of <paramref name="runtime"/>.
    /// The handler answers at once unless the event has <c>hold</c> (seconds): the benchmark's warm-up
    /// holds that many invocations open together so that the pool starts one sandbox per client.
    /// <paramref name="nonce"/> goes into a comment so that every cold-start run deploys a new
    /// measurement (a version nobody has started yet) with the same behaviour.
    /// </summary>
    public static string DeployBody(string runtime, int nonce)
    {
        var (entrypoint, source) = runtime switch
        {
            "python3" => ("main.py", $"# bench run {nonce}\nimport time\n\ndef handle(event, ctx):\n    if \"hold\" in event:\n        time.sleep(event[\"hold\"])\n    return {{\"ok\": True, \"n\": event.get(\"n\")}}\n"),
            "node" => ("index.js", $"// bench run {nonce}\nmodule.exports = async (event, ctx) => {{\n  if (event.hold) await new Promise(r => setTimeout(r, event.hold * 1000));\n  return {{ ok: true, n: event.n }};\n}};\n"),
            _ => throw new ArgumentOutOfRangeException(nameof(runtime), runtime, "python3 or node"),
        };

        using var buffer = new MemoryStream();
        using var json = new Utf8JsonWriter(buffer);
        json.WriteStartObject();
        json.WriteStartObject("manifest");
        json.WriteString("runtime", runtime);
        json.WriteString("entrypoint", entrypoint);
        json.WriteStartObject("limits");
        json.WriteNumber("concurrency", Concurrency);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteBase64String("bundle", TarGz(entrypoint, source));
        json.WriteEndObject();
        json.Flush();
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal static byte[] TarGz(string path, string content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path)
            {
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = DateTimeOffset.UnixEpoch,
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content), writable: false),
            });
        }

        return output.ToArray();
    }
}
