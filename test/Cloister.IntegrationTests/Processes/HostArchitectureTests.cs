using System.Reflection;
using System.Xml.Linq;
using Cloister.Cli;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// The partition as a compile-time fact (docs/design/projects.md): each process's host project can reference only what
/// that process may hold. The router's (Cloister.Router, which runs <c>serve</c>) can reach no enclave, key broker or
/// sandbox code; the worker's no master key and no store; the broker's no enclave, sandbox or store. Checked twice: in
/// the project files (what could be compiled in) and in the built assemblies (what is bound), and the <c>cloister</c>
/// dispatcher's commands must run the host assemblies' handlers. PartitionTests checks the running processes.
/// </summary>
public sealed class HostArchitectureTests
{
    public static TheoryData<string, string[]> Forbidden => new()
    {
        { "Cloister.Router", ["Cloister.Enclave", "Cloister.KeyBroker", "Cloister.Sandbox", "Cloister.Worker", "Cloister.Broker"] },
        { "Cloister.Server", ["Cloister.Enclave", "Cloister.KeyBroker", "Cloister.Sandbox", "Cloister.Worker", "Cloister.Broker"] },
        { "Cloister.Worker", ["Cloister.KeyBroker", "Cloister.Server", "Cloister.Storage", "Cloister.Router", "Cloister.Broker"] },
        { "Cloister.Broker", ["Cloister.Enclave", "Cloister.Sandbox", "Cloister.Server", "Cloister.Storage", "Cloister.Router", "Cloister.Worker"] },
        { "Cloister.Hosting", ["Cloister.Enclave", "Cloister.KeyBroker", "Cloister.Sandbox", "Cloister.Server", "Cloister.Storage"] },
    };

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void HostProject_CannotReferenceWhatItsProcessMustNotHold(string project, string[] forbidden)
    {
        var reachable = ProjectClosure(project);

        Assert.NotEmpty(reachable);
        foreach (var name in forbidden)
        {
            Assert.DoesNotContain(name, reachable);
        }
    }

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void HostAssembly_BindsNothingItsProcessMustNotHold(string assembly, string[] forbidden)
    {
        var bound = AssemblyClosure(Assembly.Load(assembly));

        foreach (var name in forbidden)
        {
            Assert.DoesNotContain(name, bound);
        }
    }

    [Fact]
    public void ProjectClosure_SeesTheReferencesItChecks()
    {
        // The control: the dispatcher does reach every host, and the worker does reach the enclave.
        Assert.Superset(new HashSet<string> { "Cloister.Router", "Cloister.Worker", "Cloister.Broker" }, ProjectClosure("Cloister.Cli"));
        Assert.Contains("Cloister.Enclave", ProjectClosure("Cloister.Worker"));
        Assert.Contains("Cloister.KeyBroker", ProjectClosure("Cloister.Broker"));
    }

    [Theory]
    [InlineData("serve", "Cloister.Router")]
    [InlineData("worker", "Cloister.Worker")]
    [InlineData("keybroker", "Cloister.Broker")]
    public void ProcessCommand_RunsItsHostAssemblysHandler(string command, string host)
    {
        var action = CliCommands.CreateRoot().Subcommands.Single(c => c.Name == command).Action;

        var declaring = DelegateAssemblies(action!, depth: 4);

        Assert.Contains(host, declaring);
        Assert.DoesNotContain("cloister", declaring);
    }

    private static HashSet<string> ProjectClosure(string project)
    {
        var src = Path.Combine(RepositoryRoot(), "src");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<string>([project]);
        while (pending.Count > 0)
        {
            var name = pending.Dequeue();
            var csproj = Path.Combine(src, name, name + ".csproj");
            foreach (var reference in XDocument.Load(csproj).Descendants("ProjectReference"))
            {
                var referenced = Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value);
                if (seen.Add(referenced))
                {
                    pending.Enqueue(referenced);
                }
            }
        }

        return seen;
    }

    private static HashSet<string> AssemblyClosure(Assembly root)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>([root]);
        while (pending.Count > 0)
        {
            foreach (var reference in pending.Dequeue().GetReferencedAssemblies())
            {
                if (reference.Name is { } name && name.StartsWith("Cloister.", StringComparison.Ordinal) && seen.Add(name))
                {
                    pending.Enqueue(Assembly.Load(reference));
                }
            }
        }

        return seen;
    }

    /// <summary>The assemblies declaring the delegates reachable from <paramref name="target"/>'s fields (the command's handler and the closures it wraps).</summary>
    private static HashSet<string> DelegateAssemblies(object target, int depth)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (depth == 0)
        {
            return found;
        }

        for (var type = target.GetType(); type is not null; type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (field.GetValue(target) is Delegate handler)
                {
                    found.Add(handler.Method.DeclaringType!.Assembly.GetName().Name!);
                    if (handler.Target is { } closure)
                    {
                        found.UnionWith(DelegateAssemblies(closure, depth - 1));
                    }
                }
            }
        }

        return found;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cloister.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Cloister.slnx is not above the test directory.");
    }
}
