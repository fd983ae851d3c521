using System.Text.Json;

namespace Cloister.IntegrationTests.Support;

/// <summary>Function bundles and deploy bodies for tests.</summary>
public static class FunctionBundles
{
    public const string TrivialPython = "def handle(event, ctx):\n    return {\"ok\": True}\n";

    /// <summary>A PUT /v1/functions/{name} body.</summary>
    public static string DeployBody(object manifest, byte[] bundle)
        => JsonSerializer.Serialize(new { manifest, bundle = Convert.ToBase64String(bundle) });

    /// <summary>A python3 function whose main.py is <paramref name="source"/>.</summary>
    public static string Python(string source, object? permissions = null, object? limits = null)
        => DeployBody(Manifest("python3", "main.py", permissions, limits), Archives.TarGz(("main.py", source)));

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
