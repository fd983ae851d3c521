using System.Formats.Tar;
using System.Text;

namespace Cloister.Functions.Tests;

public class FunctionMeasurementTests
{
    /// <summary>The worked example of docs/function-measurement.md; recomputed there with a few lines of Python.</summary>
    public const string GoldenMeasurement =
        "8d42485eba43522b8ba3fae70a60224c2192e8df1630bfc174775aa2a979ab0babac9ab651e41b6849a614f95384f8d2";

    private const string Handler = "def handle(event, ctx):\n    return {\"ok\": True}\n";
    private const string Util = "X = 1\n";
    private const string MinimalManifest = """{"runtime":"python3","entrypoint":"handler.py"}""";

    [Fact]
    public void Compute_TheDocumentedExample_GivesTheGoldenValue()
    {
        var bundle = TestArchives.Read(Archives.TarGz(w =>
        {
            Archives.File(w, "handler.py", Handler);
            Archives.File(w, "lib/util.py", Util);
        }));

        var measurement = FunctionMeasurement.Compute(TestArchives.Manifest(MinimalManifest), bundle);

        Assert.Equal(GoldenMeasurement, measurement);
        Assert.Equal(96, measurement.Length);
    }

    [Fact]
    public void Compute_TheDocumentedExampleFromMemory_GivesTheGoldenValue()
    {
        Assert.True(FunctionBundle.TryCreate(
            [new BundleFile("lib/util.py", false, Encoding.UTF8.GetBytes(Util)), new BundleFile("handler.py", false, Encoding.UTF8.GetBytes(Handler))],
            null, out var bundle, out var error), error);

        Assert.Equal(GoldenMeasurement, FunctionMeasurement.Compute(TestArchives.Manifest(MinimalManifest), bundle));
    }

    [Fact]
    public void Compute_ExplicitDefaultsInTheManifest_DoNotChangeIt()
    {
        var bundle = Golden();
        var explicitManifest = TestArchives.Manifest("""
            {"egress":"none","isolation":"warm","entrypoint":"./handler.py","runtime":"python3",
             "limits":{"memoryMiB":128,"wallTimeoutSeconds":10,"cpuSeconds":10,"outputBytes":1048576,"concurrency":4},
             "permissions":{"reveal":[],"returnPlaintext":false,"tokenizeOutput":[]}}
            """);

        Assert.Equal(GoldenMeasurement, FunctionMeasurement.Compute(explicitManifest, bundle));
    }

    [Fact]
    public void Compute_TarEntryOrderMtimesOwnersModesAndDirectoryEntries_DoNotChangeIt()
    {
        var variant = TestArchives.Read(Archives.TarGz(
            w =>
            {
                Archives.Entry(w, TarEntryType.Directory, "./");
                Archives.Entry(w, TarEntryType.Directory, "lib");
                Archives.File(w, "./lib/util.py", Util, (UnixFileMode)0b110_110_110, uid: 0, mtime: DateTimeOffset.UnixEpoch, format: TarEntryFormat.Gnu);
                Archives.File(w, "handler.py", Handler, (UnixFileMode)0b100_000_000, uid: 4242, mtime: DateTimeOffset.UtcNow, format: TarEntryFormat.Gnu);
            },
            TarEntryFormat.Gnu));

        Assert.Equal(GoldenMeasurement, FunctionMeasurement.Compute(TestArchives.Manifest(MinimalManifest), variant));
    }

    [Fact]
    public void Compute_OneChangedByte_ChangesIt()
    {
        var bundle = Bundle(("handler.py", false, Handler.Replace("True", "Trne", StringComparison.Ordinal)), ("lib/util.py", false, Util));

        Assert.NotEqual(GoldenMeasurement, FunctionMeasurement.Compute(TestArchives.Manifest(MinimalManifest), bundle));
    }

    [Fact]
    public void Compute_ARenamedPath_ChangesIt()
    {
        var bundle = Bundle(("handler.py", false, Handler), ("lib/utils.py", false, Util));

        Assert.NotEqual(GoldenMeasurement, FunctionMeasurement.Compute(TestArchives.Manifest(MinimalManifest), bundle));
    }

    [Fact]
    public void Compute_TheExecutableBit_ChangesIt()
    {
        var bundle = Bundle(("handler.py", false, Handler), ("lib/util.py", true, Util));

        Assert.NotEqual(GoldenMeasurement, FunctionMeasurement.Compute(TestArchives.Manifest(MinimalManifest), bundle));
    }

    [Fact]
    public void Compute_AnAddedEmptyFile_ChangesIt()
    {
        var bundle = Bundle(("handler.py", false, Handler), ("lib/util.py", false, Util), ("__init__.py", false, ""));

        Assert.NotEqual(GoldenMeasurement, FunctionMeasurement.Compute(TestArchives.Manifest(MinimalManifest), bundle));
    }

    [Fact]
    public void Compute_MovingBytesBetweenPathAndContent_ChangesIt()
    {
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        var manifest = TestArchives.Manifest("""{"runtime":"python3","entrypoint":"a.py"}""");
        var one = Bundle(("a.py", false, "xy"), ("b.py", false, ""));
        var two = Bundle(("a.py", false, "x"), ("b.py", false, "y"));

        Assert.NotEqual(FunctionMeasurement.Compute(manifest, one), FunctionMeasurement.Compute(manifest, two));
    }

    [Theory]
    [InlineData("""{"runtime":"python3","entrypoint":"lib/util.py"}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","limits":{"memoryMiB":129}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","limits":{"wallTimeoutSeconds":11,"cpuSeconds":10}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","limits":{"cpuSeconds":9}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","limits":{"outputBytes":1048577}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","limits":{"concurrency":5}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","permissions":{"reveal":["pan"]}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","permissions":{"reveal":["*"]}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","permissions":{"returnPlaintext":true}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","permissions":{"tokenizeOutput":[{"field":"ok","format":"random"}]}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","permissions":{"tokenizeOutput":[{"field":"ok","format":"numeric"}]}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","permissions":{"tokenizeOutput":[{"field":"ok","format":"random","classifier":"pan"}]}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.py","isolation":"per-invocation"}""")]
    public void Compute_AnyManifestField_ChangesIt(string manifestJson)
    {
        Assert.NotEqual(GoldenMeasurement, FunctionMeasurement.Compute(TestArchives.Manifest(manifestJson), Golden()));
    }

    [Fact]
    public void Compute_TheRuntime_ChangesIt()
    {
        var nodeManifest = TestArchives.Manifest("""{"runtime":"node","entrypoint":"index.js"}""");
        var nativeManifest = TestArchives.Manifest("""{"runtime":"native","entrypoint":"index.js"}""");
        var bundle = Bundle(("index.js", true, "module.exports = async (e) => e;\n"));

        Assert.NotEqual(FunctionMeasurement.Compute(nodeManifest, bundle), FunctionMeasurement.Compute(nativeManifest, bundle));
    }

    internal static FunctionBundle Golden() => Bundle(("handler.py", false, Handler), ("lib/util.py", false, Util));

    internal static FunctionBundle Bundle(params (string Path, bool Executable, string Content)[] files)
    {
        Assert.True(FunctionBundle.TryCreate(files.Select(f => new BundleFile(f.Path, f.Executable, Encoding.UTF8.GetBytes(f.Content))), null, out var bundle, out var error), error);
        return bundle;
    }
}

public class EntrypointValidationTests
{
    [Fact]
    public void Native_X8664ElfWithTheExecutableBit_IsAccepted()
    {
        var bundle = Bundle(("bin/fn", true, TestArchives.ElfHeader()));

        Assert.True(FunctionManifestJson.TryParse("""{"runtime":"native","entrypoint":"bin/fn"}"""u8, bundle, out var manifest, out var error), error);
        Assert.Null(manifest.InterpreterPath);
    }

    [Theory]
    [InlineData((ushort)183, (byte)2)] // aarch64
    [InlineData((ushort)3, (byte)1)] // i386, 32-bit
    [InlineData((ushort)62, (byte)1)] // x86-64 machine in a 32-bit class header
    public void Native_OtherArchitectures_AreRefused(ushort machine, byte elfClass)
    {
        var bundle = Bundle(("bin/fn", true, TestArchives.ElfHeader(machine, elfClass)));

        Assert.False(FunctionManifestJson.TryParse("""{"runtime":"native","entrypoint":"bin/fn"}"""u8, bundle, out _, out var error));
        Assert.Equal("entrypoint: 'bin/fn' is not a Linux x86-64 ELF executable (runtime native)", error);
    }

    [Fact]
    public void Native_AScript_IsRefused()
    {
        var bundle = Bundle(("run.sh", true, "#!/bin/sh\necho hi\n"u8.ToArray()));

        Assert.False(FunctionManifestJson.TryParse("""{"runtime":"native","entrypoint":"run.sh"}"""u8, bundle, out _, out var error));
        Assert.Equal("entrypoint: 'run.sh' is not a Linux x86-64 ELF executable (runtime native)", error);
    }

    [Fact]
    public void Native_WithoutTheExecutableBit_IsRefused()
    {
        var bundle = Bundle(("bin/fn", false, TestArchives.ElfHeader()));

        Assert.False(FunctionManifestJson.TryParse("""{"runtime":"native","entrypoint":"bin/fn"}"""u8, bundle, out _, out var error));
        Assert.Equal("entrypoint: 'bin/fn' lacks the executable bit (runtime native)", error);
    }

    [Fact]
    public void Native_RealElfOfThisMachine_IsAccepted()
    {
        // /usr/bin/env is a real x86-64 executable on the CI and dev machines (linux-x64).
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            return;
        }

        var bundle = Bundle(("env", true, File.ReadAllBytes("/usr/bin/env")));

        Assert.True(FunctionManifestJson.TryParse("""{"runtime":"native","entrypoint":"env"}"""u8, bundle, out _, out var error), error);
    }

    [Theory]
    [InlineData("""{"runtime":"python3","entrypoint":"missing.py"}""", "entrypoint: 'missing.py' is not a file in the bundle")]
    [InlineData("""{"runtime":"python3","entrypoint":"lib.py"}""", "entrypoint: 'lib.py' is not a file in the bundle")]
    [InlineData("""{"runtime":"node","entrypoint":"lib/index.js"}""", "entrypoint: 'lib/index.js' is not a file in the bundle")]
    public void Entrypoint_NotInTheBundle_IsRefused(string json, string expected)
    {
        var bundle = Bundle(("handler.py", false, "pass\n"u8.ToArray()), ("lib/x.py", false, "pass\n"u8.ToArray()));

        Assert.False(FunctionManifestJson.TryParse(Encoding.UTF8.GetBytes(json), bundle, out var manifest, out var error));
        Assert.Null(manifest);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Entrypoint_InTheBundle_IsAccepted()
    {
        var bundle = Bundle(("src/index.js", false, "module.exports = async (e) => e;\n"u8.ToArray()));

        Assert.True(FunctionManifestJson.TryParse("""{"runtime":"node","entrypoint":"./src/index.js"}"""u8, bundle, out var manifest, out var error), error);
        Assert.Equal("src/index.js", manifest.Entrypoint);
    }

    private static FunctionBundle Bundle(params (string Path, bool Executable, byte[] Content)[] files)
    {
        Assert.True(FunctionBundle.TryCreate(files.Select(f => new BundleFile(f.Path, f.Executable, f.Content)), null, out var bundle, out var error), error);
        return bundle;
    }
}
