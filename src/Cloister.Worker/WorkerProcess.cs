using Cloister.Enclave;
using Cloister.Enclave.Attestation;
using Cloister.Hosting.Children;
using Cloister.Hosting.Listeners;
using Cloister.Protocol;
using Cloister.Protocol.Http;
using Cloister.Protocol.Rings;

namespace Cloister.Worker;

/// <summary>
/// The enclave worker's life: identity (measurement, evidence source, HPKE key pair), the enclave host with
/// its sandboxes, serving the router until cancelled (SIGTERM, or EOF on stdin when <c>serve</c> started it),
/// then disposing the host (sandboxes killed, keyring zeroed).
/// </summary>
/// <remarks>Every line it prints starts with <c>cloister worker:</c> and is for people; <c>serve</c> reads only its <see cref="Readiness"/> report.</remarks>
internal static class WorkerProcess
{
    /// <summary>Largest frame a listening worker accepts (a function package plus its envelope).</summary>
    private const long MaxFrameBytes = FrameLimits.MaxFrameBytes;

    public static async Task<int> RunAsync(WorkerSettings settings, FunctionSettings functionSettings, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(settings.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var runtime = WorkerSandboxes.Create(settings.DataDirectory, functionSettings);
        var measurement = WorkerMeasurement.Compute(AppContext.BaseDirectory, functionSettings.MeasuredConfiguration(runtime.Backend));
        var evidence = EvidenceProviders.Detect(settings.DataDirectory, measurement, out var evidenceDescription);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var host = new EnclaveHost(
            new HttpFrameTransport(http, settings.Broker),
            runtime.Options,
            new WorkerIdentity(evidence, measurement));

        Console.WriteLine($"cloister worker: measurement {measurement}");
        Console.WriteLine($"cloister worker: evidence {evidenceDescription}");
        await SandboxReport.PrintAsync(runtime, functionSettings.Unsandboxed, cancellationToken);
        try
        {
            if (settings.RingPath is { } ringPath)
            {
                await using var ring = RingFrameServer.Open(ringPath);
                Console.WriteLine($"cloister worker: serving the ring {ringPath}");
                Console.WriteLine("cloister worker: ready");
                Readiness.Report(new ReadinessReport { Process = "worker", Measurement = measurement });
                await ring.RunAsync(host, cancellationToken);
            }
            else
            {
                await ListenAsync(settings, host, measurement, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // SIGTERM or the supervisor's EOF: a normal stop.
        }

        Console.WriteLine("cloister worker: stopping (sandboxes killed, keys zeroed)");
        return 0;
    }

    private static async Task ListenAsync(WorkerSettings settings, IFrameHandler host, string measurement, CancellationToken cancellationToken)
    {
        await using var app = await FrameListener.StartAsync("worker", settings.Listen!, settings.InsecureHttp, FramePaths.Worker, host, MaxFrameBytes, settings.ListenToken!, cancellationToken);
        var addresses = Listener.Addresses(app);
        foreach (var address in addresses)
        {
            Console.WriteLine($"cloister worker: listening on {address}{FramePaths.Worker}");
        }

        Console.WriteLine("cloister worker: ready");
        Readiness.Report(new ReadinessReport { Process = "worker", Measurement = measurement, Listening = addresses[0] });
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
