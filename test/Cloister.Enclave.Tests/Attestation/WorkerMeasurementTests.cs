using Cloister.Enclave.Attestation;

namespace Cloister.Enclave.Tests.Attestation;

public sealed class WorkerMeasurementTests : IDisposable
{
    private static readonly Dictionary<string, string> Configuration = new()
    {
        ["unsandboxed"] = "false",
        ["sandbox"] = "runsc",
        ["pool.python"] = "2",
    };

    private readonly string _app = Directory.CreateTempSubdirectory("cloister-measure-").FullName;

    public WorkerMeasurementTests()
    {
        File.WriteAllText(Path.Combine(_app, "Cloister.Crypto.dll"), "crypto");
        File.WriteAllText(Path.Combine(_app, "cloister.dll"), "host");
        File.WriteAllText(Path.Combine(_app, "runner.py"), "print()");
        File.WriteAllText(Path.Combine(_app, "Cloister.Enclave.dll"), "enclave");
        // Not measured: other assemblies, symbols, other scripts, subdirectories.
        File.WriteAllText(Path.Combine(_app, "System.Text.Json.dll"), "bcl");
        File.WriteAllText(Path.Combine(_app, "Cloister.Enclave.pdb"), "symbols");
        File.WriteAllText(Path.Combine(_app, "cloister.Lower.dll"), "not the prefix");
        File.WriteAllText(Path.Combine(_app, "runner.sh"), "echo");
        Directory.CreateDirectory(Path.Combine(_app, "Cloister.Sub.dll"));
    }

    public void Dispose() => Directory.Delete(_app, recursive: true);

    [Fact]
    public void Compute_MatchesTheDocumentedEncoding()
    {
        // Computed independently (Python, from docs/design/attestation-flow.md) over the same files and settings.
        const string Golden = "bd0ef3dc6da6de22ebcd18c5e4a0d7e382bac06dd835b0d80bfe94e0894a9c58cd8585d819767204dcad2597f88f2279";

        Assert.Equal(Golden, WorkerMeasurement.Compute(_app, Configuration));
    }

    [Fact]
    public void Compute_ChangesWithAMeasuredFile_NotWithOthers()
    {
        string before = WorkerMeasurement.Compute(_app, Configuration);

        File.WriteAllText(Path.Combine(_app, "System.Text.Json.dll"), "other bcl");
        File.WriteAllText(Path.Combine(_app, "Cloister.Enclave.pdb"), "other symbols");
        Assert.Equal(before, WorkerMeasurement.Compute(_app, Configuration));

        File.WriteAllText(Path.Combine(_app, "runner.py"), "print(1)");
        Assert.NotEqual(before, WorkerMeasurement.Compute(_app, Configuration));
    }

    [Fact]
    public void Compute_ChangesWithAddedFilesAndConfiguration()
    {
        string before = WorkerMeasurement.Compute(_app, Configuration);

        Assert.NotEqual(before, WorkerMeasurement.Compute(_app, new Dictionary<string, string>(Configuration) { ["sandbox"] = "bwrap" }));
        Assert.NotEqual(before, WorkerMeasurement.Compute(_app, new Dictionary<string, string>(Configuration) { ["extra"] = string.Empty }));
        File.WriteAllText(Path.Combine(_app, "Cloister.Extra.dll"), string.Empty);
        Assert.NotEqual(before, WorkerMeasurement.Compute(_app, Configuration));
    }

    [Fact]
    public void Compute_DoesNotDependOnConfigurationOrder()
    {
        var reversed = Configuration.Reverse().ToDictionary(p => p.Key, p => p.Value);

        Assert.Equal(WorkerMeasurement.Compute(_app, Configuration), WorkerMeasurement.Compute(_app, reversed));
    }

    [Fact]
    public void Compute_LengthPrefixesKeepFieldsApart()
    {
        var joined = new Dictionary<string, string> { ["ab"] = "c" };
        var split = new Dictionary<string, string> { ["a"] = "bc" };

        Assert.NotEqual(WorkerMeasurement.Compute(_app, joined), WorkerMeasurement.Compute(_app, split));
    }

    [Theory]
    [InlineData("Cloister.Server.dll", true)]
    [InlineData("cloister.dll", true)]
    [InlineData("runner.js", true)]
    [InlineData("runner.py", true)]
    [InlineData("cloister.Server.dll", false)]
    [InlineData("Cloister.Server.pdb", false)]
    [InlineData("Cloister.dll.config", false)]
    [InlineData("Microsoft.Data.Sqlite.dll", false)]
    public void IsMeasured_SelectsTheBuild(string name, bool measured)
    {
        Assert.Equal(measured, WorkerMeasurement.IsMeasured(name));
    }
}
