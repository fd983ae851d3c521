using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Cloister.Enclave.Attestation;

namespace Cloister.Enclave.Tests.Attestation;

/// <summary>
/// A stand-in for the kernel's configfs-tsm in a temporary directory, replaying recorded real evidence.
/// </summary>
/// <remarks>
/// <para>
/// mkdir of a report (<see cref="Create"/>) lays out the attributes as configfs does: <c>provider</c> and
/// <c>inblob</c> as regular files, and <c>generation</c>, <c>outblob</c>, <c>auxblob</c> as FIFOs served by this
/// "kernel". A FIFO makes the provider's read wait for the kernel, like a configfs read waits for the firmware, and
/// lets the kernel compute the answer at read time: it first consumes a pending inblob write (the provider wrote
/// it, closed it, and only then opened the next attribute, so the write is always visible) and bumps the generation,
/// as the real kernel does on each inblob write.
/// </para>
/// <para>
/// <see cref="RacesToInject"/> plays another writer: for that many outblob reads the kernel serves a different
/// report and bumps the generation, which the provider must notice and retry.
/// </para>
/// </remarks>
internal sealed partial class FakeTsmKernel(string provider, byte[] outblob, byte[] auxblob) : IReportDirectories
{
    private static readonly string[] Fifos = ["generation", "outblob", "auxblob"];

    private readonly Dictionary<string, Report> _reports = [];
    private readonly Lock _lock = new();

    /// <summary>Every inblob the kernel consumed, in order.</summary>
    public List<byte[]> Inblobs { get; } = [];

    /// <summary>Report directories created and removed.</summary>
    public List<string> Created { get; } = [];

    public List<string> Removed { get; } = [];

    public int OutblobReads { get; private set; }

    /// <summary>Outblob reads to answer as if another writer had changed the inputs.</summary>
    public int RacesToInject { get; set; }

    /// <summary>The report served while a race is injected.</summary>
    public byte[] OtherWritersOutblob { get; set; } = [];

    public void Create(string path)
    {
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "provider"), provider + "\n");
        File.WriteAllBytes(Path.Combine(path, "inblob"), []);
        var report = new Report(path);
        foreach (string fifo in Fifos)
        {
            Assert.Equal(0, MakeFifo(Path.Combine(path, fifo), Convert.ToUInt32("600", 8)));
        }

        report.Servers.Add(Serve(report, "generation", () => Encoding.ASCII.GetBytes(report.Generation.ToString(CultureInfo.InvariantCulture) + "\n")));
        report.Servers.Add(Serve(report, "outblob", () =>
        {
            OutblobReads++;
            if (RacesToInject > 0)
            {
                RacesToInject--;
                report.Generation++;
                return OtherWritersOutblob;
            }

            return outblob;
        }));
        report.Servers.Add(Serve(report, "auxblob", () => auxblob));
        lock (_lock)
        {
            _reports.Add(path, report);
            Created.Add(path);
        }
    }

    public void Remove(string path)
    {
        Report report;
        lock (_lock)
        {
            report = _reports[path];
            _reports.Remove(path);
            report.Stopped = true;
        }

        // Each server is blocked opening its FIFO for writing (or about to): one read open releases it, it sees Stopped.
        foreach (string fifo in Fifos)
        {
            File.ReadAllBytes(Path.Combine(path, fifo));
        }

        Assert.True(Task.WaitAll([.. report.Servers], TimeSpan.FromSeconds(30)));
        Directory.Delete(path, recursive: true);
        lock (_lock)
        {
            Removed.Add(path);
        }
    }

    private Task Serve(Report report, string name, Func<byte[]> answer)
    {
        string path = Path.Combine(report.Path, name);
        return Task.Factory.StartNew(
            () =>
            {
                while (true)
                {
                    // Opening a FIFO for writing blocks until a reader opens it.
                    using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
                    byte[] bytes;
                    lock (_lock)
                    {
                        if (report.Stopped)
                        {
                            return;
                        }

                        ConsumeInblob(report);
                        bytes = answer();
                    }

                    // This reader keeps the FIFO it opened; the next reader opens a fresh one. Otherwise the next
                    // iteration's open would succeed at once against this reader, which would then read two answers.
                    string next = path + ".next";
                    Assert.Equal(0, MakeFifo(next, Convert.ToUInt32("600", 8)));
                    File.Move(next, path, overwrite: true);
                    stream.Write(bytes);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    private void ConsumeInblob(Report report)
    {
        string inblob = Path.Combine(report.Path, "inblob");
        byte[] written = File.ReadAllBytes(inblob);
        if (written.Length > 0)
        {
            Inblobs.Add(written);
            File.WriteAllBytes(inblob, []);
            report.Generation++;
        }
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MakeFifo(string path, uint mode);

    private sealed class Report(string path)
    {
        public string Path { get; } = path;

        public long Generation { get; set; }

        public bool Stopped { get; set; }

        public List<Task> Servers { get; } = [];
    }
}
