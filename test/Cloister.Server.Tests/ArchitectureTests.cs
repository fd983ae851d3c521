using System.Reflection;

namespace Cloister.Server.Tests;

/// <summary>The router must not be able to reach key material: it may reference only key-free assemblies.</summary>
public sealed class ArchitectureTests
{
    private static readonly string[] KeyHolding = ["Cloister.Enclave", "Cloister.KeyBroker"];

    [Fact]
    public void Router_ReferencesNoKeyHoldingAssembly()
    {
        var router = typeof(ServerOptions).Assembly;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>([router]);
        while (pending.Count > 0)
        {
            foreach (var reference in pending.Dequeue().GetReferencedAssemblies())
            {
                if (reference.Name is not { } name || !name.StartsWith("Cloister.", StringComparison.Ordinal) || !seen.Add(name))
                {
                    continue;
                }

                Assert.DoesNotContain(name, KeyHolding);
                pending.Enqueue(Assembly.Load(reference));
            }
        }

        Assert.Contains("Cloister.Protocol", seen);
        Assert.Contains("Cloister.Storage", seen);
    }
}
