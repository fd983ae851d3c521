using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Cloister.Protocol;
using Cloister.Protocol.Rings;

namespace Cloister.Benchmarks;

/// <summary>
/// The router &lt;-&gt; worker transport benchmark: a load generator (not BenchmarkDotNet) that measures every round trip
/// with Stopwatch timestamps. The worker side is a child process (this program run as <c>transport-peer</c>) so every
/// transport crosses a real process boundary. Usage: <c>transport [--scale F] [--concurrency N]</c>.
/// </summary>
internal static class RingTransportLoad
{
    private static readonly int[] Sizes = [64, 4096, 65536];

    public static async Task<int> RunAsync(string[] args)
    {
        double scale = Option(args, "--scale", 1.0);
        int concurrency = (int)Option(args, "--concurrency", 4);
        int spin = (int)Option(args, "--spin", new RingOptions().SpinMicroseconds);
        string[] kinds = Array.IndexOf(args, "--ring-only") >= 0 ? ["ring", "ring-inline"] : ["ring", "ring-inline", "uds", "tcp"];
        Console.WriteLine($"# transport benchmark {DateTime.UtcNow:u}, {Environment.ProcessorCount} cores, scale {scale}, {concurrency} concurrent callers for throughput, ring spin {spin} µs");
        Console.WriteLine("| transport | size | round trips | p50 µs | p99 µs | mean µs | CPU µs/rt (both processes) | throughput msg/s (concurrent) | MB/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var p50s = new Dictionary<(string, int), double>();
        foreach (string kind in kinds)
        {
            await using var peer = await Peer.StartAsync(kind, new RingOptions { SpinMicroseconds = spin, InlineCompletions = kind == "ring-inline" });
            foreach (int size in Sizes)
            {
                int roundTrips = (int)(scale * size switch { 64 => 200_000, 4096 => 100_000, _ => 20_000 });
                var row = await MeasureAsync(peer, size, roundTrips, concurrency);
                p50s[(kind, size)] = row.P50;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {kind} | {size:N0} B | {roundTrips:N0} | {row.P50:F1} | {row.P99:F1} | {row.Mean:F1} | {row.CpuPerRoundTrip:F1} | {row.Throughput:N0} | {row.Throughput * size * 2 / 1e6:F0} |"));
            }
        }

        foreach (int size in kinds.Contains("uds") ? Sizes : [])
        {
            foreach (string ring in new[] { "ring", "ring-inline" })
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"p50 ratio at {size} B: uds/{ring} {p50s[("uds", size)] / p50s[(ring, size)]:F2}x, tcp/{ring} {p50s[("tcp", size)] / p50s[(ring, size)]:F2}x"));
            }
        }

        return 0;
    }

    /// <summary>The child process: serve one transport with <see cref="EchoHandler"/> until the parent goes away.</summary>
    public static async Task<int> ServePeerAsync(string[] args)
    {
        string kind = args[0];
        if (kind == "ring")
        {
            await using var server = RingFrameServer.Open(args[1]);
            Console.WriteLine("ready");
            await server.RunAsync(new EchoHandler(), CancellationToken.None);
            return 0;
        }

        using var listener = kind == "uds"
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(kind == "uds" ? new UnixDomainSocketEndPoint(args[1]) : new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        Console.WriteLine(kind == "uds" ? "ready" : $"ready {((IPEndPoint)listener.LocalEndPoint!).Port}");
        await SocketFrameServer.ServeAsync(await listener.AcceptAsync(), new EchoHandler());
        return 0;
    }

    private static async Task<Row> MeasureAsync(Peer peer, int size, int roundTrips, int concurrency)
    {
        var request = new byte[size];
        Random.Shared.NextBytes(request);

        // Warm-up: JIT tiering on both sides, pools, page faults in the ring.
        for (int i = 0; i < Math.Min(roundTrips, 20_000); i++)
        {
            await peer.Transport.SendAsync(request, CancellationToken.None);
        }

        var latencies = new long[roundTrips];
        var cpuBefore = peer.CpuTime();
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < roundTrips; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await peer.Transport.SendAsync(request, CancellationToken.None);
            latencies[i] = Stopwatch.GetTimestamp() - t0;
        }

        double elapsedTicks = Stopwatch.GetTimestamp() - started;
        double cpu = (peer.CpuTime() - cpuBefore).TotalMicroseconds / roundTrips;
        Array.Sort(latencies);
        double toMicros = 1e6 / Stopwatch.Frequency;

        int perCaller = roundTrips / concurrency;
        var throughputWatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < perCaller; i++)
            {
                await peer.Transport.SendAsync(request, CancellationToken.None);
            }
        })));
        double throughput = perCaller * concurrency / throughputWatch.Elapsed.TotalSeconds;

        return new Row(
            latencies[roundTrips / 2] * toMicros,
            latencies[(int)(roundTrips * 0.99)] * toMicros,
            elapsedTicks * toMicros / roundTrips,
            cpu,
            throughput);
    }

    private static double Option(string[] args, string name, double fallback)
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? double.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private sealed record Row(double P50, double P99, double Mean, double CpuPerRoundTrip, double Throughput);

    /// <summary>A child process serving one transport, and the parent's client of it.</summary>
    private sealed class Peer : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Func<ValueTask> _dispose;

        private Peer(Process process, IFrameTransport transport, Func<ValueTask> dispose)
        {
            _process = process;
            Transport = transport;
            _dispose = dispose;
        }

        public IFrameTransport Transport { get; }

        public static async Task<Peer> StartAsync(string kind, RingOptions ringOptions)
        {
            string address = kind switch
            {
                "ring" or "ring-inline" => $"/dev/shm/cloister-bench-{Environment.ProcessId}",
                "uds" => Path.Combine(Path.GetTempPath(), $"cloister-bench-{Environment.ProcessId}.sock"),
                _ => "",
            };
            File.Delete(address is "" ? "/nonexistent" : address);
            RingFrameTransport? ring = kind.StartsWith("ring", StringComparison.Ordinal) ? RingFrameTransport.Create(address, ringOptions) : null;

            var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            {
                start.ArgumentList.Add(typeof(RingTransportLoad).Assembly.Location);
            }

            foreach (string arg in new[] { "transport-peer", ring is null ? kind : "ring", address })
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start)!;
            string ready = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the peer did not start");
            if (ring is not null)
            {
                return new Peer(process, ring, ring.DisposeAsync);
            }

            var socket = kind == "uds"
                ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(kind == "uds"
                ? new UnixDomainSocketEndPoint(address)
                : new IPEndPoint(IPAddress.Loopback, int.Parse(ready.Split(' ')[1], CultureInfo.InvariantCulture)));
            var client = new SocketFrameClient(socket);
            return new Peer(process, client, async () =>
            {
                await client.DisposeAsync();
                File.Delete(address is "" ? "/nonexistent" : address);
            });
        }

        public TimeSpan CpuTime()
        {
            _process.Refresh();
            return _process.TotalProcessorTime + Process.GetCurrentProcess().TotalProcessorTime;
        }

        public async ValueTask DisposeAsync()
        {
            await _dispose();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            _process.Dispose();
        }
    }
}
