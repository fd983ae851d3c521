namespace Cloister.Enclave.Functions;

/// <summary>
/// The plaintext one invocation has handled: values revealed into the sandbox (from args and
/// <c>ctx.reveal</c>) and values the handler tokenized. Used to redact logs and error details and,
/// for revealed values, to refuse a result that contains one. Thread-safe.
/// </summary>
internal sealed class InvocationSecrets
{
    /// <summary>Revealed values shorter than this are not looked for in the result (too many false alarms).</summary>
    public const int MinOutputCheckLength = 4;

    private const string Redacted = "[redacted]";

    private readonly Lock _lock = new();
    private readonly List<string> _revealed = [];
    private readonly List<string> _tokenized = [];
    private readonly List<string> _revealedTokens = [];

    /// <summary>The tokens revealed into the sandbox, each once, in order.</summary>
    public IReadOnlyList<string> RevealedTokens
    {
        get
        {
            lock (_lock)
            {
                return [.. _revealedTokens];
            }
        }
    }

    public void AddRevealed(string token, string value)
    {
        lock (_lock)
        {
            if (!_revealedTokens.Contains(token, StringComparer.Ordinal))
            {
                _revealedTokens.Add(token);
            }

            if (value.Length > 0)
            {
                _revealed.Add(value);
            }
        }
    }

    public void AddTokenized(string value)
    {
        lock (_lock)
        {
            if (value.Length > 0)
            {
                _tokenized.Add(value);
            }
        }
    }

    /// <summary>Whether <paramref name="text"/> contains a revealed value of at least <see cref="MinOutputCheckLength"/> characters.</summary>
    public bool ContainsRevealed(string text)
    {
        lock (_lock)
        {
            return _revealed.Any(value => value.Length >= MinOutputCheckLength && text.Contains(value, StringComparison.Ordinal));
        }
    }

    /// <summary><paramref name="text"/> with every revealed or tokenized value replaced by <c>[redacted]</c>, longest first.</summary>
    public string Redact(string text)
    {
        string[] values;
        lock (_lock)
        {
            values = [.. _revealed.Concat(_tokenized).Distinct(StringComparer.Ordinal).OrderByDescending(value => value.Length)];
        }

        foreach (var value in values)
        {
            text = text.Replace(value, Redacted, StringComparison.Ordinal);
        }

        return text;
    }
}
