namespace Cloister.Sandbox.Runner;

/// <summary>The language runners (runner.py, runner.js beside this file), embedded in the assembly; <see cref="Runners.Extract"/> writes them out.</summary>
internal static class RunnerScripts
{
    /// <summary>runner.py: the Python runner (standard library only).</summary>
    public static string Python { get; } = Load("runner.py");

    /// <summary>runner.js: the Node runner (standard library only).</summary>
    public static string Node { get; } = Load("runner.js");

    private static string Load(string name)
    {
        using var stream = typeof(RunnerScripts).Assembly.GetManifestResourceStream("Cloister.Sandbox.Runner." + name)
            ?? throw new InvalidOperationException($"The embedded runner {name} is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
