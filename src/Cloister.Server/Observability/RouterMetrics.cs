using System.Diagnostics.Metrics;
using Cloister.Protocol;
using OpenTelemetry.Metrics;

namespace Cloister.Server.Observability;

/// <summary>
/// The router's own instruments (meter <see cref="MeterName"/>), exported beside ASP.NET Core's request metrics at
/// <c>/metrics</c> (docs/metrics.md): frames to the enclave worker, invocation outcomes, attestation verdicts, and the
/// counts the worker reports in its health answer (sandbox pool, key releases).
/// </summary>
/// <remarks>
/// Every tag value comes from a closed set — a lane, an outcome, an error code the router knows, a TEE name, a verdict —
/// so no value, token, tenant, function name or key can become a series. The meter comes from the container's
/// <see cref="IMeterFactory"/>, so two routers in one process (tests) keep their numbers apart.
/// </remarks>
internal sealed class RouterMetrics
{
    public const string MeterName = "Cloister.Server";

    // A frame in the request lane takes tens of microseconds in process and milliseconds across hosts; an invocation
    // frame lasts as long as the function (up to its wall timeout).
    private static readonly double[] FrameBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    // A warm invocation takes milliseconds, a cold one pays the sandbox start (100-300 ms with gVisor), the longest the wall timeout.
    private static readonly double[] InvocationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    private readonly UpDownCounter<long> _framesInFlight;
    private readonly Histogram<double> _frameDuration;
    private readonly Counter<long> _invocations;
    private readonly Histogram<double> _invocationDuration;
    private readonly Counter<long> _verdicts;

    // The worker's answer to the last scrape's health ping: null before the first, or when it did not answer.
    private volatile WorkerStatistics? _worker;
    private volatile bool _workerAnswered;

    public RouterMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _framesInFlight = meter.CreateUpDownCounter<long>(
            "cloister.enclave.frames.in_flight", "{frame}", "Frames sent to the enclave worker and not answered yet (the ring's depth), by lane.");
        _frameDuration = meter.CreateHistogram(
            "cloister.enclave.frame.duration", "s", "Round trip of one frame to the enclave worker and back, by lane and outcome.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = FrameBuckets });
        _invocations = meter.CreateCounter<long>(
            "cloister.invocations", "{invocation}", "Function invocations that ended, by outcome (succeeded, failed, sealed) and error code.");
        _invocationDuration = meter.CreateHistogram(
            "cloister.invocation.duration", "s", "How long an invocation ran once admitted, by outcome.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = InvocationBuckets });
        _verdicts = meter.CreateCounter<long>(
            "cloister.attestation.verdicts", "{verdict}", "Evidence appraised by POST /v1/attestation/verify, by TEE and verdict.");

        meter.CreateObservableGauge(
            "cloister.worker.up", () => _workerAnswered ? 1 : 0, unit: null, "Whether the enclave worker answered the health ping sent for this scrape.");
        meter.CreateObservableGauge<int>(
            "cloister.worker.sandboxes",
            () => _worker is { } w ? [new(w.IdleSandboxes, Tag("state", "idle")), new(w.LeasedSandboxes, Tag("state", "leased"))] : [],
            "{sandbox}",
            "Sandboxes in the worker's pool: idle (warm, waiting) and leased (running an invocation).");
        meter.CreateObservableCounter<long>(
            "cloister.worker.sandbox.cold_starts",
            () => _worker is { } w ? [new(w.ColdStarts)] : [],
            "{start}",
            "Invocations that found no warm sandbox and waited for one to start, since the worker started.");
        meter.CreateObservableCounter<long>(
            "cloister.worker.key_releases",
            () => _worker is { } w
                ? [new(w.KeyReleasesGranted, Tag("outcome", "granted")), new(w.KeyReleasesRefused, Tag("outcome", "refused")), new(w.KeyReleasesFailed, Tag("outcome", "failed"))]
                : [],
            "{release}",
            "Tenant key releases the worker asked the key broker for, by outcome (granted, refused, failed), since the worker started.");
    }

    /// <summary>A frame went out in <paramref name="lane"/>.</summary>
    public void FrameSent(FrameLane lane) => _framesInFlight.Add(1, Tag("lane", LaneName(lane)));

    /// <summary>A frame of <paramref name="lane"/> came back (or failed) after <paramref name="elapsed"/>; <paramref name="outcome"/> is one of <see cref="MeteredTransport"/>'s.</summary>
    public void FrameAnswered(FrameLane lane, string outcome, TimeSpan elapsed)
    {
        var name = LaneName(lane);
        _framesInFlight.Add(-1, Tag("lane", name));
        _frameDuration.Record(elapsed.TotalSeconds, Tag("lane", name), Tag("outcome", outcome));
    }

    /// <summary>An invocation ended: <paramref name="outcome"/> is succeeded, failed or sealed; <paramref name="errorLabel"/> comes from <see cref="Functions.InvocationErrors.LabelOf"/>.</summary>
    public void InvocationEnded(string outcome, string errorLabel, TimeSpan elapsed)
    {
        _invocations.Add(1, Tag("outcome", outcome), Tag("error", errorLabel));
        _invocationDuration.Record(elapsed.TotalSeconds, Tag("outcome", outcome));
    }

    /// <summary>Evidence of <paramref name="tee"/> (a <c>TeeNames</c> name) got <paramref name="verdict"/> (a verdict's name).</summary>
    public void Appraised(string tee, string verdict) => _verdicts.Add(1, Tag("tee", tee), Tag("verdict", verdict));

    /// <summary>Keeps what the worker answered to a health ping, for the worker's instruments.</summary>
    public void Observe(WorkerPing ping)
    {
        _workerAnswered = ping.Answered;
        _worker = ping.Answer?.Statistics;
    }

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);

    private static string LaneName(FrameLane lane) => lane switch
    {
        FrameLane.Request => "request",
        FrameLane.Invocation => "invocation",
        FrameLane.Control => "control",
        _ => "other",
    };
}

internal static class RouterMetricsServiceCollectionExtensions
{
    /// <summary>The router's instruments and ASP.NET Core's request metrics, exported for <see cref="MetricsEndpoint"/>.</summary>
    public static IServiceCollection AddRouterMetrics(this IServiceCollection services)
    {
        services.AddSingleton<RouterMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics
                .AddMeter(RouterMetrics.MeterName, "Microsoft.AspNetCore.Hosting")
                .AddPrometheusExporter(prometheus =>
                {
                    // Each scrape is collected afresh (it pings the worker first); Prometheus scrapes seconds apart anyway.
                    prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                    prometheus.TargetInfoEnabled = false;
                });

            // OpenTelemetry listens to every meter of these names in the process. Only this container's count: two routers
            // in one process (the tests run many) would otherwise each report the other's series too, under the same labels.
            ((IDeferredMeterProviderBuilder)metrics).Configure((provider, builder) =>
            {
                var own = provider.GetRequiredService<IMeterFactory>();
                builder.AddView(instrument => instrument.Meter.Scope is null || ReferenceEquals(instrument.Meter.Scope, own) ? null : MetricStreamConfiguration.Drop);
            });
        });
        return services;
    }
}
