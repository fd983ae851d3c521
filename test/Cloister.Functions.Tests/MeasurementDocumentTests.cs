using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Cloister.Functions.Tests;

public class MeasurementDocumentTests
{
    [Fact]
    public void Document_StatesTheGoldenMeasurement()
    {
        var text = File.ReadAllText(DocumentPath());

        Assert.Contains(FunctionMeasurementTests.GoldenMeasurement, text, StringComparison.Ordinal);
        Assert.Contains(FunctionMeasurement.Domain, text, StringComparison.Ordinal);
    }

    [Fact]
    public void Document_PythonRecomputation_GivesTheGoldenMeasurement()
    {
        var python = FindOnPath("python3");
        if (python is null)
        {
            // The recomputation needs only a stock Python 3; machines without one skip this cross-check.
            return;
        }

        var text = File.ReadAllText(DocumentPath());
        var script = Regex.Match(text, "```python\n(?<code>.*?)```", RegexOptions.Singleline).Groups["code"].Value;
        Assert.NotEmpty(script);

        var start = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        process.StandardInput.Write(script);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();

        Assert.Equal(FunctionMeasurementTests.GoldenMeasurement, output);
    }

    private static string DocumentPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "function-measurement.md");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("docs/function-measurement.md not found above the test binaries");
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
