using Cloister.Sandbox;

namespace Cloister.Worker;

/// <summary>Says which sandbox functions run in and which runtimes exist, or what to install.</summary>
internal static class SandboxReport
{
    public static async Task PrintAsync(WorkerSandboxes runtime, bool unsandboxed, CancellationToken cancellationToken)
    {
        var environment = await SandboxEnvironment.DescribeAsync(cancellationToken);
        var runtimes = string.Join(", ", environment.Runtimes.Select(r => r.Installed ? $"{r.Name} ({r.Version ?? r.Path})" : $"{r.Name} MISSING ({r.Path})"));
        if (unsandboxed)
        {
            Console.Error.WriteLine($"cloister worker: {runtime.BackendMessage}");
            Console.WriteLine($"cloister worker: functions: NO SANDBOX; runtimes {runtimes}");
        }
        else if (runtime.Backend is null)
        {
            Console.WriteLine($"cloister worker: functions: disabled, {runtime.BackendMessage}; runtimes {runtimes}");
        }
        else
        {
            var version = environment.Backend == runtime.Backend.Name && environment.BackendVersion is { } v ? $" ({v})" : string.Empty;
            Console.WriteLine($"cloister worker: functions: sandbox {runtime.Backend.Name}{version}; runtimes {runtimes}");
        }

        foreach (var missing in environment.Runtimes.Where(r => !r.Installed))
        {
            Console.WriteLine($"cloister worker: {missing.Name} functions will fail until {missing.Path} is installed ('sudo apt-get install {(missing.Name == "node" ? "nodejs" : missing.Name)}')");
        }
    }
}
