namespace Cloister.Functions;

/// <summary>The language runtime a function runs on.</summary>
public enum FunctionRuntime
{
    /// <summary>Debian's <c>/usr/bin/python3</c>; the entrypoint is a <c>.py</c> module.</summary>
    Python3,

    /// <summary>Debian's <c>/usr/bin/node</c>; the entrypoint is a <c>.js</c> file.</summary>
    Node,

    /// <summary>A Linux x86-64 ELF executable in the bundle, speaking the runner frame protocol itself.</summary>
    Native,
}

/// <summary>How sandboxes are reused between invocations of one function version.</summary>
public enum FunctionIsolation
{
    /// <summary>A warm sandbox serves successive invocations, its tmpfs wiped between them (the default).</summary>
    Warm,

    /// <summary>A fresh sandbox for every invocation.</summary>
    PerInvocation,
}

/// <summary>The token format used when a result field is tokenized on the way out.</summary>
public enum TokenizeFormat
{
    Random,
    Numeric,
    Pan,
    PanLast4,
    SsnLast4,
    Fpe,
}

/// <summary>Resource limits of one invocation; every value is explicit after parsing.</summary>
/// <param name="MemoryMiB">Memory limit in MiB (default 128, 16..4096).</param>
/// <param name="WallTimeoutSeconds">Wall-clock timeout in seconds (default 10, 1..900).</param>
/// <param name="CpuSeconds">CPU-time limit in seconds (default: the wall timeout, 1..900).</param>
/// <param name="OutputBytes">Largest result in bytes (default 1 MiB, 1..64 MiB).</param>
/// <param name="Concurrency">Invocations of this version that may run at once (default 4, 1..64).</param>
public sealed record FunctionLimits(int MemoryMiB, int WallTimeoutSeconds, int CpuSeconds, long OutputBytes, int Concurrency)
{
    public const int DefaultMemoryMiB = 128;
    public const int MinMemoryMiB = 16;
    public const int MaxMemoryMiB = 4096;
    public const int DefaultWallTimeoutSeconds = 10;
    public const int MaxSeconds = 900;
    public const long DefaultOutputBytes = 1024 * 1024;
    public const long MaxOutputBytes = Cloister.Protocol.FrameLimits.MaxFunctionOutputBytes;
    public const int DefaultConcurrency = 4;
    public const int MaxConcurrency = 64;

    /// <summary>The limits a manifest without a <c>limits</c> object gets.</summary>
    public static FunctionLimits Default { get; } =
        new(DefaultMemoryMiB, DefaultWallTimeoutSeconds, DefaultWallTimeoutSeconds, DefaultOutputBytes, DefaultConcurrency);
}

/// <summary>A result field to tokenize before the result leaves the enclave.</summary>
/// <param name="Field">A dotted JSON path into the result object, e.g. <c>card</c> or <c>payer.account</c>.</param>
/// <param name="Format">The token format.</param>
/// <param name="Classifier">The classifier the new token gets, or null for the vault's default.</param>
public sealed record TokenizeOutputRule(string Field, TokenizeFormat Format, string? Classifier);

/// <summary>What a function may do with sensitive values.</summary>
/// <param name="Reveal">Token classifiers the function may reveal, sorted; <c>["*"]</c> means any.</param>
/// <param name="ReturnPlaintext">Whether the result may leave as plaintext (default false).</param>
/// <param name="TokenizeOutput">Result fields tokenized on the way out, sorted by field.</param>
public sealed record FunctionPermissions(IReadOnlyList<string> Reveal, bool ReturnPlaintext, IReadOnlyList<TokenizeOutputRule> TokenizeOutput)
{
    /// <summary>The wildcard classifier: any classifier may be revealed.</summary>
    public const string AnyClassifier = "*";

    /// <summary>No reveals, no plaintext out, nothing tokenized.</summary>
    public static FunctionPermissions None { get; } = new([], false, []);

    /// <summary>Value equality, lists compared item by item (a record would compare the list references).</summary>
    public bool Equals(FunctionPermissions? other) =>
        other is not null
        && ReturnPlaintext == other.ReturnPlaintext
        && Reveal.SequenceEqual(other.Reveal, StringComparer.Ordinal)
        && TokenizeOutput.SequenceEqual(other.TokenizeOutput);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(ReturnPlaintext);
        foreach (var classifier in Reveal)
        {
            hash.Add(classifier, StringComparer.Ordinal);
        }

        foreach (var rule in TokenizeOutput)
        {
            hash.Add(rule);
        }

        return hash.ToHashCode();
    }

    /// <summary>Whether a token of <paramref name="classifier"/> may be revealed to the function.</summary>
    public bool MayReveal(string classifier) =>
        Reveal.Contains(AnyClassifier, StringComparer.Ordinal) || Reveal.Contains(classifier, StringComparer.Ordinal);
}

/// <summary>
/// A function's manifest: what runs and under which limits and permissions. Produced by
/// <see cref="FunctionManifestJson.TryParse(ReadOnlySpan{byte}, out FunctionManifest?, out string?)"/>, so every default is explicit.
/// </summary>
/// <param name="Runtime">The runtime.</param>
/// <param name="Entrypoint">The bundle path of the entrypoint (normalized, relative).</param>
/// <param name="Limits">Resource limits.</param>
/// <param name="Permissions">Reveal and output permissions.</param>
/// <param name="Isolation">Sandbox reuse.</param>
/// <param name="Egress">Network egress; only <c>none</c> exists for now.</param>
public sealed record FunctionManifest(
    FunctionRuntime Runtime,
    string Entrypoint,
    FunctionLimits Limits,
    FunctionPermissions Permissions,
    FunctionIsolation Isolation,
    string Egress)
{
    /// <summary>The only egress policy accepted for now.</summary>
    public const string NoEgress = "none";

    /// <summary>The interpreter that runs the entrypoint, or null for a native executable.</summary>
    public string? InterpreterPath => Runtime switch
    {
        FunctionRuntime.Python3 => "/usr/bin/python3",
        FunctionRuntime.Node => "/usr/bin/node",
        _ => null,
    };
}
