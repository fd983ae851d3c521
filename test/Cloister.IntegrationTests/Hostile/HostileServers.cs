using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Hostile;

/// <summary>
/// One real server per sandbox backend (gVisor and bubblewrap), each with its own data directory and
/// master key, shared by the hostile-function tests of a class: each test makes its own tenant and functions.
/// </summary>
public sealed class HostileServers : IAsyncLifetime
{
    private static readonly string[] BackendNames = ["runsc", "bwrap"];

    public static readonly TheoryData<string> Backends = new(BackendNames);

    private readonly Dictionary<string, TestServer> _servers = new(StringComparer.Ordinal);

    /// <summary>The server whose functions run on <paramref name="backend"/>.</summary>
    public TestServer this[string backend] => _servers[backend];

    public async Task InitializeAsync()
    {
        foreach (var backend in BackendNames)
        {
            _servers[backend] = await TestServer.StartAsync(sandboxBackend: backend);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers.Values)
        {
            await server.DisposeAsync();
        }
    }
}
