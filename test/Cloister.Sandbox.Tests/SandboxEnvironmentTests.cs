using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;

namespace Cloister.Sandbox.Tests;

/// <summary>The host description the enclave and <c>cloister serve</c> report (CI installs runsc, bubblewrap, python3 and node).</summary>
public sealed class SandboxEnvironmentTests
{
    [Fact]
    public async Task Describe_NamesTheDetectedBackendWithItsVersion_AndTheInstalledRuntimes()
    {
        var info = await SandboxEnvironment.DescribeAsync(CancellationToken.None);

        var detected = SandboxBackends.Detect(out var message);
        Assert.Equal(detected?.Name, info.Backend);
        Assert.Equal(message, info.Message);
        Assert.Equal([RunscBackend.BackendName, BubblewrapBackend.BackendName], info.UsableBackends);
        Assert.Equal(RunscBackend.BackendName, info.Backend);
        Assert.StartsWith("runsc version ", info.BackendVersion, StringComparison.Ordinal);

        var python = Assert.Single(info.Runtimes, runtime => runtime.Name == FunctionRuntimes.Python3);
        Assert.Equal("/usr/bin/python3", python.Path);
        Assert.True(python.Installed);
        Assert.StartsWith("Python 3.", python.Version, StringComparison.Ordinal);
        var node = Assert.Single(info.Runtimes, runtime => runtime.Name == FunctionRuntimes.Node);
        Assert.Equal("/usr/bin/node", node.Path);
        Assert.True(node.Installed);
        Assert.Matches(@"^v\d+\.", node.Version);
    }
}
