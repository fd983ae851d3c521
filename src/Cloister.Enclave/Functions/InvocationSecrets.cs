using Cloister.Sandbox.Pool;

namespace Cloister.Enclave.Functions;

/// <summary>
/// The plaintext one invocation must keep out of its result, logs and error details: values revealed for it (args,
/// <c>ctx.reveal</c>) and values its handler tokenized, and — once it has a sandbox — everything that sandbox received from
/// earlier invocations (a warm sandbox keeps what its handler keeps). Thread-safe.
/// </summary>
/// <remarks>
/// Until <see cref="Attach"/> the values are the invocation's own; then they move into the sandbox's
/// <see cref="SandboxSecrets"/>, which the sandbox zeroes when it dies. <see cref="Release"/> zeroes them when no sandbox took them.
/// </remarks>
internal sealed class InvocationSecrets
{
    private readonly Lock _lock = new();
    private SandboxSecrets _values = new();
    private bool _attached;

    /// <summary>The tokens whose values were in the sandbox while the invocation ran (its own and earlier ones'), each once, in order.</summary>
    public IReadOnlyList<string> RevealedTokens => Current.RevealedTokens;

    private SandboxSecrets Current
    {
        get
        {
            lock (_lock)
            {
                return _values;
            }
        }
    }

    /// <summary>From now on, the invocation's values are <paramref name="sandbox"/>'s, which holds what earlier invocations left.</summary>
    public void Attach(SandboxSecrets sandbox)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        lock (_lock)
        {
            sandbox.AddFrom(_values);
            if (!_attached)
            {
                _values.Clear();
            }

            _values = sandbox;
            _attached = true;
        }
    }

    /// <summary>Zeroes the invocation's values unless a sandbox took them over (call once the completion is built).</summary>
    public void Release()
    {
        lock (_lock)
        {
            if (!_attached)
            {
                _values.Clear();
            }
        }
    }

    /// <summary>Whether the record went over its bounds: no further value may enter (the sandbox is retired afterwards).</summary>
    public bool IsFull => Current.IsFull;

    public void AddRevealed(string token, string value) => Current.AddRevealed(token, value);

    public void AddTokenized(string value) => Current.AddTokenized(value);

    /// <summary>Whether <paramref name="text"/> contains a revealed value of at least <see cref="SandboxSecrets.MinOutputCheckLength"/> characters.</summary>
    public bool ContainsRevealed(ReadOnlySpan<char> text) => Current.ContainsRevealed(text);

    /// <summary><paramref name="text"/> with every revealed or tokenized value replaced by <c>[redacted]</c>, longest first.</summary>
    public string Redact(string text) => Current.Redact(text);
}
