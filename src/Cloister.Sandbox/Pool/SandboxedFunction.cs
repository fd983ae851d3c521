using System.Diagnostics;
using System.Text.Json;
using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Runner;

namespace Cloister.Sandbox.Pool;

/// <summary>Error codes of an invocation that come from the sandbox's limits, in addition to <see cref="InvocationErrorCodes"/>.</summary>
public static class SandboxErrorCodes
{
    /// <summary>The sandbox reached its memory limit.</summary>
    public const string MemoryLimit = "memory-limit";

    /// <summary>The sandbox used more CPU time than its limit.</summary>
    public const string CpuLimit = "cpu-limit";

    /// <summary>The sandbox failed after reaching its process limit.</summary>
    public const string PidsLimit = "pids-limit";

    /// <summary>The sandbox wrote more than its output limit.</summary>
    public const string OutputLimit = "output-limit";
}

/// <summary>
/// One function version running in one sandbox: starts it, waits for the runner's <c>ready</c>,
/// and runs invocations, turning everything the function does (crash, hang, limits, garbage) into
/// an <see cref="InvocationOutcome"/> with a stable code rather than an exception.
/// </summary>
/// <remarks>
/// <see cref="SandboxLimits.WallTimeout"/>, <see cref="SandboxLimits.CpuSeconds"/> and <see cref="SandboxLimits.OutputBytes"/> apply to each
/// invocation (measured from the cgroup's CPU usage when it starts), not to the sandbox's life: a warm
/// sandbox lives as long as its pool keeps it. Starting gets its own bound (the ready timeout, and the
/// CPU limit), and so does each idle period (the CPU limit only). A sandbox over any of them is killed.
/// <para>
/// This object owns the sandbox process and its <see cref="RunnerSession"/>; disposing it kills the
/// sandbox and removes its host state. One invocation at a time. Once the session is broken or
/// the sandbox has ended, <see cref="IsReusable"/> is false for good and every later invocation
/// fails at once with the same error: dispose it and start another.
/// </para>
/// </remarks>
public sealed class SandboxedFunction : IAsyncDisposable
{
    /// <summary>How long to wait for the backend to report why a sandbox ended after its output closed.</summary>
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(3);

    /// <summary>How much longer than the ready timeout the host lets a starting sandbox run before killing it (the session's own timeout answers first).</summary>
    private static readonly TimeSpan StartupGrace = TimeSpan.FromSeconds(2);

    private readonly ISandboxBackend _backend;
    private readonly Stopwatch _age = new();
    private ISandboxProcess? _process;
    private RunnerSession? _session;
    private InvocationError? _failure;
    private long _phaseWallTicks = -1;
    private int _starting;
    private int _disposed;
    private int _invocations;

    /// <summary>Prepares (does not start) a sandbox for <paramref name="definition"/>.</summary>
    /// <exception cref="ArgumentException">The definition is invalid.</exception>
    public SandboxedFunction(ISandboxBackend backend, FunctionSandboxDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        _backend = backend;
        Definition = definition;
    }

    /// <summary>What runs in this sandbox.</summary>
    public FunctionSandboxDefinition Definition { get; }

    /// <summary>The tenant and function version this sandbox belongs to, for its whole life.</summary>
    public FunctionKey Key => Definition.Key;

    /// <summary>How many invocations this sandbox has run.</summary>
    public int InvocationCount => Volatile.Read(ref _invocations);

    /// <summary>How long ago the sandbox started (zero before <see cref="StartAsync"/>).</summary>
    public TimeSpan Age => _age.Elapsed;

    /// <summary>
    /// The plaintext that has entered this sandbox since it started (its owner records it; see <see cref="SandboxSecrets"/>).
    /// Zeroed when the sandbox is disposed; once it is full the sandbox is no longer reusable.
    /// </summary>
    public SandboxSecrets Secrets { get; } = new();

    /// <summary>Why the sandbox is unusable, or <c>null</c> while it is (or may become) usable.</summary>
    public InvocationError? Failure => Volatile.Read(ref _failure);

    /// <summary>Whether the sandbox is started, healthy, and may serve another invocation.</summary>
    public bool IsReusable =>
        Volatile.Read(ref _disposed) == 0
        && _process is { } process && _session is { IsReady: true, IsBroken: false }
        && Failure is null
        && !Secrets.IsFull
        && !process.WaitAsync().IsCompleted;

    /// <summary>
    /// Starts the sandbox and waits for the runner's <c>ready</c> frame. Returns <c>null</c> when
    /// ready, otherwise why the function cannot run (e.g. <c>load-error</c>, <c>runner-crashed</c>,
    /// <c>memory-limit</c>); the sandbox is then already killed and <see cref="Failure"/> is set.
    /// </summary>
    /// <exception cref="SandboxException">The backend could not start a sandbox (a broken host, not the function).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the sandbox is killed.</exception>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public async Task<InvocationError?> StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _starting, 1) != 0)
        {
            throw new InvalidOperationException("This sandbox was already started.");
        }

        ISandboxProcess process;
        try
        {
            process = await _backend.StartAsync(Definition.ToSandboxSpec(), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Fail(new InvocationError(InvocationErrorCodes.RunnerCrashed, "the sandbox could not be started"));
            throw;
        }

        _age.Start();
        _process = process;
        RenewBudget(Definition.SessionOptions.ReadyTimeout + StartupGrace);
        _session = new RunnerSession(process.Input, process.Output, Definition.SessionOptions, Secrets.Redact);
        InvocationError? error;
        try
        {
            error = await _session.WaitForReadyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Fail(new InvocationError(InvocationErrorCodes.RunnerCrashed, "the sandbox was abandoned while starting"));
            throw;
        }

        if (error is not null)
        {
            error = await ClassifyAsync(error).ConfigureAwait(false);
            Fail(error);
        }
        else
        {
            RenewBudget(wall: null);
        }

        return error;
    }

    /// <summary>
    /// Runs one invocation with <paramref name="event"/>, answering host calls with
    /// <paramref name="hostCalls"/>; starts the sandbox first when <see cref="StartAsync"/> was not called.
    /// Whatever the function does is an outcome: a limit it hits becomes <c>timeout</c>,
    /// <c>memory-limit</c>, <c>cpu-limit</c>, <c>pids-limit</c> or <c>output-limit</c>; a runner
    /// that dies becomes <c>runner-crashed</c>.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled by the caller; the sandbox is killed.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="hostCalls"/> threw, or another invocation is running; the sandbox is killed.</exception>
    /// <exception cref="SandboxException">The backend could not start the sandbox.</exception>
    public async Task<InvocationOutcome> InvokeAsync(JsonElement @event, IHostCalls hostCalls, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hostCalls);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _starting) == 0)
        {
            await StartAsync(cancellationToken).ConfigureAwait(false);
        }

        if (Failure is { } failure)
        {
            return InvocationOutcome.Failure(failure.Code, failure.Message);
        }

        var process = _process ?? throw new InvalidOperationException("The sandbox is still starting on another thread.");
        var session = _session!;
        if (process.WaitAsync().IsCompleted)
        {
            var ended = await ClassifyAsync(new InvocationError(InvocationErrorCodes.RunnerCrashed, "the sandbox ended before the invocation")).ConfigureAwait(false);
            Fail(ended);
            return InvocationOutcome.Failure(ended.Code, ended.Message);
        }

        InvocationOutcome outcome;
        try
        {
            RenewBudget(Definition.Limits.WallTimeout);
            outcome = await session.InvokeAsync(@event, hostCalls, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Cancelled mid-invocation or a host bug: the runner's state is unknown, so the sandbox goes.
            Fail(new InvocationError(InvocationErrorCodes.RunnerCrashed, "the invocation was abandoned"));
            throw;
        }
        finally
        {
            Interlocked.Increment(ref _invocations);
        }

        if (!session.IsBroken && !process.WaitAsync().IsCompleted)
        {
            if ((process as SandboxProcess)?.HitPidsLimit() is not true)
            {
                RenewBudget(wall: null);
                return outcome;
            }

            // A fork bomb the handler survived (it caught the refused fork) leaves the sandbox full of its processes:
            // the sandbox is not reused, and a failed invocation is named by the limit it hit.
            var bomb = new InvocationError(SandboxErrorCodes.PidsLimit, $"the function exceeded its process limit of {Definition.Limits.Pids}");
            Fail(bomb);
            return outcome.IsSuccess ? outcome : InvocationOutcome.Failure(bomb.Code, bomb.Message);
        }

        var error = await ClassifyAsync(outcome.Error ?? new InvocationError(InvocationErrorCodes.RunnerCrashed, "the sandbox ended after the invocation")).ConfigureAwait(false);
        Fail(error);
        return outcome.IsSuccess ? outcome : InvocationOutcome.Failure(error.Code, error.Message);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (_process is { } process)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            Secrets.Clear();
        }
    }

    /// <summary>
    /// Opens the next phase's budget: the sandbox may run for <paramref name="wall"/> more (unbounded while
    /// idle: the pool's idle eviction ends it), use <see cref="SandboxLimits.CpuSeconds"/> more CPU time —
    /// also while idle, so work a handler left running between invocations is still bounded — and write
    /// <see cref="SandboxLimits.OutputBytes"/> more.
    /// </summary>
    private void RenewBudget(TimeSpan? wall)
    {
        Volatile.Write(ref _phaseWallTicks, wall?.Ticks ?? -1);
        (_process as SandboxProcess)?.RenewBudget(wall, TimeSpan.FromSeconds(Definition.Limits.CpuSeconds));
    }

    /// <summary>The wall-clock bound of the phase the sandbox failed in (starting or an invocation).</summary>
    private TimeSpan PhaseWall() => Volatile.Read(ref _phaseWallTicks) is >= 0 and var ticks ? TimeSpan.FromTicks(ticks) : Definition.Limits.WallTimeout;

    /// <summary>Marks the sandbox unusable (first reason wins) and kills it.</summary>
    private void Fail(InvocationError error)
    {
        Interlocked.CompareExchange(ref _failure, error, null);
        _process?.Kill();
    }

    /// <summary>
    /// Names a broken session by what the sandbox ended of: a limit the backend enforced is the
    /// real reason behind the runner's closed output. Messages never carry the sandbox's stderr,
    /// which may hold revealed values.
    /// </summary>
    private async Task<InvocationError> ClassifyAsync(InvocationError error)
    {
        var process = _process!;
        var exitTask = process.WaitAsync();
        if (error.Code == InvocationErrorCodes.RunnerCrashed && !exitTask.IsCompleted)
        {
            try
            {
                await exitTask.WaitAsync(ExitGrace).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        if (!exitTask.IsCompleted)
        {
            return error;
        }

        var exit = await exitTask.ConfigureAwait(false);
        var limits = Definition.Limits;
        return exit.Reason switch
        {
            SandboxExitReason.WallTimeout => new(InvocationErrorCodes.Timeout, $"the sandbox reached its wall-clock limit of {PhaseWall().TotalSeconds:0.###} s"),
            SandboxExitReason.MemoryLimit => new(SandboxErrorCodes.MemoryLimit, $"the function exceeded its memory limit of {limits.MemoryMiB} MiB"),
            SandboxExitReason.CpuLimit => new(SandboxErrorCodes.CpuLimit, $"the function exceeded its CPU time limit of {limits.CpuSeconds} s per invocation"),
            SandboxExitReason.PidsLimit => new(SandboxErrorCodes.PidsLimit, $"the function exceeded its process limit of {limits.Pids}"),
            SandboxExitReason.OutputLimit => new(SandboxErrorCodes.OutputLimit, $"the function wrote more than its output limit of {limits.OutputBytes} bytes"),
            SandboxExitReason.Killed => error,
            _ when error.Code == InvocationErrorCodes.RunnerCrashed => new(InvocationErrorCodes.RunnerCrashed, $"the runner exited with code {exit.ExitCode}"),
            _ => error,
        };
    }
}
