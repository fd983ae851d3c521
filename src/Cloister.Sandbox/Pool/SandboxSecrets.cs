using System.Runtime.InteropServices;

namespace Cloister.Sandbox.Pool;

/// <summary>
/// The plaintext that has entered one sandbox since it started: values revealed into it (with their tokens) and values its
/// handler tokenized. A warm sandbox keeps whatever its handler keeps (module-level state, files outside the scratch
/// directory), so a later invocation may hand back any of them: the output check, the redaction of logs and error details and
/// the audit's token list consult this whole record, not only the current invocation's values. Thread-safe.
/// </summary>
/// <remarks>
/// Bounded: once it holds more than <see cref="MaxValues"/> distinct values or <see cref="MaxChars"/> characters of them it is
/// <see cref="IsFull"/>, and its sandbox serves no further invocation (the current one still completes, fully checked). Values
/// are kept as character arrays so that <see cref="Clear"/> can zero them when the sandbox dies.
/// </remarks>
public sealed class SandboxSecrets
{
    /// <summary>Revealed values shorter than this are not looked for in a result (too many false alarms; a last-4 is allowed on purpose).</summary>
    public const int MinOutputCheckLength = 4;

    /// <summary>The default <see cref="MaxValues"/>: four invocations' worth of the most token references one may carry (256).</summary>
    public const int DefaultMaxValues = 1024;

    /// <summary>The default <see cref="MaxChars"/>, 1 Mi characters.</summary>
    public const int DefaultMaxChars = 1024 * 1024;

    private const string Redacted = "[redacted]";

    private readonly Lock _lock = new();
    private readonly HashSet<char[]> _values = new(ValueComparer.Instance);
    private readonly HashSet<char[]> _revealed = new(ValueComparer.Instance);

    /// <summary>Revealed values of <see cref="MinOutputCheckLength"/> characters or more, by their first four: a result is scanned once, whatever the number of values.</summary>
    private readonly Dictionary<ulong, List<char[]>> _byPrefix = [];
    private readonly List<string> _tokens = [];
    private readonly HashSet<string> _tokenSet = new(StringComparer.Ordinal);
    private char[][]? _longestFirst;
    private long _chars;

    /// <summary>Creates an empty record bounded by <paramref name="maxValues"/> distinct values and <paramref name="maxChars"/> characters.</summary>
    public SandboxSecrets(int maxValues = DefaultMaxValues, int maxChars = DefaultMaxChars)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxValues, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 1);
        MaxValues = maxValues;
        MaxChars = maxChars;
    }

    /// <summary>How many distinct values the sandbox may receive before it is retired.</summary>
    public int MaxValues { get; }

    /// <summary>How many characters of distinct values the sandbox may receive before it is retired.</summary>
    public int MaxChars { get; }

    /// <summary>Whether the record went over its bounds: the sandbox must not serve another invocation.</summary>
    public bool IsFull
    {
        get
        {
            lock (_lock)
            {
                return _values.Count > MaxValues || _chars > MaxChars;
            }
        }
    }

    /// <summary>Every token revealed into the sandbox, each once, in the order they first came.</summary>
    public IReadOnlyList<string> RevealedTokens
    {
        get
        {
            lock (_lock)
            {
                return [.. _tokens];
            }
        }
    }

    /// <summary>Records that <paramref name="token"/>'s <paramref name="value"/> entered the sandbox.</summary>
    public void AddRevealed(string token, ReadOnlySpan<char> value)
    {
        ArgumentNullException.ThrowIfNull(token);
        lock (_lock)
        {
            AddToken(token);
            Add(value, revealed: true);
        }
    }

    /// <summary>Records a value the handler passed to <c>ctx.tokenize</c> (plaintext too: redacted, not looked for in results).</summary>
    public void AddTokenized(ReadOnlySpan<char> value)
    {
        lock (_lock)
        {
            Add(value, revealed: false);
        }
    }

    /// <summary>Adds everything <paramref name="other"/> holds (an invocation's values, once it has a sandbox).</summary>
    public void AddFrom(SandboxSecrets other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(other, this))
        {
            return;
        }

        // One lock at a time: copies first, so two records merging into each other cannot deadlock.
        List<string> tokens;
        List<(char[] Value, bool Revealed)> values;
        lock (other._lock)
        {
            tokens = [.. other._tokens];
            values = [.. other._values.Select(value => ((char[])value.Clone(), other._revealed.Contains(value)))];
        }

        lock (_lock)
        {
            tokens.ForEach(AddToken);
            foreach (var (value, revealed) in values)
            {
                Add(value, revealed);
                Array.Clear(value);
            }
        }
    }

    /// <summary>Whether <paramref name="text"/> contains a revealed value of at least <see cref="MinOutputCheckLength"/> characters.</summary>
    public bool ContainsRevealed(ReadOnlySpan<char> text)
    {
        lock (_lock)
        {
            if (_byPrefix.Count == 0)
            {
                return false;
            }

            for (var i = 0; i + MinOutputCheckLength <= text.Length; i++)
            {
                if (_byPrefix.TryGetValue(Prefix(text[i..]), out var candidates))
                {
                    foreach (var candidate in candidates)
                    {
                        if (text[i..].StartsWith(candidate))
                        {
                            return true;
                        }
                    }
                }
            }

            return false;
        }
    }

    /// <summary><paramref name="text"/> with every value the sandbox received replaced by <c>[redacted]</c>, longest first.</summary>
    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        lock (_lock)
        {
            _longestFirst ??= [.. _values.OrderByDescending(value => value.Length)];
            foreach (var value in _longestFirst)
            {
                text = ReplaceAll(text, value);
            }

            return text;
        }
    }

    /// <summary>Zeroes every value and forgets everything (the sandbox is gone).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            foreach (var value in _values)
            {
                Array.Clear(value);
            }

            _values.Clear();
            _revealed.Clear();
            _byPrefix.Clear();
            _tokens.Clear();
            _tokenSet.Clear();
            _longestFirst = null;
            _chars = 0;
        }
    }

    private void AddToken(string token)
    {
        if (_tokenSet.Add(token))
        {
            _tokens.Add(token);
        }
    }

    private void Add(ReadOnlySpan<char> value, bool revealed)
    {
        if (value.IsEmpty)
        {
            return;
        }

        var lookup = _values.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!lookup.TryGetValue(value, out var stored))
        {
            stored = value.ToArray();
            _values.Add(stored);
            _chars += stored.Length;
            _longestFirst = null;
        }

        if (revealed && _revealed.Add(stored) && stored.Length >= MinOutputCheckLength)
        {
            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(_byPrefix, Prefix(stored), out _);
            (list ??= []).Add(stored);
        }
    }

    private static ulong Prefix(ReadOnlySpan<char> text) => ((ulong)text[0] << 48) | ((ulong)text[1] << 32) | ((ulong)text[2] << 16) | text[3];

    private static string ReplaceAll(string text, ReadOnlySpan<char> value)
    {
        var at = text.AsSpan().IndexOf(value, StringComparison.Ordinal);
        if (at < 0)
        {
            return text;
        }

        var builder = new System.Text.StringBuilder(text.Length);
        var start = 0;
        while (at >= 0)
        {
            builder.Append(text, start, at).Append(Redacted);
            start += at + value.Length;
            at = text.AsSpan(start).IndexOf(value, StringComparison.Ordinal);
        }

        return builder.Append(text, start, text.Length - start).ToString();
    }

    /// <summary>Compares values by content, also against spans (no string is made of a value to look it up).</summary>
    private sealed class ValueComparer : IEqualityComparer<char[]>, IAlternateEqualityComparer<ReadOnlySpan<char>, char[]>
    {
        public static readonly ValueComparer Instance = new();

        public bool Equals(char[]? x, char[]? y) => ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

        public int GetHashCode(char[] obj) => string.GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<char> alternate, char[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<char> alternate) => string.GetHashCode(alternate);

        public char[] Create(ReadOnlySpan<char> alternate) => alternate.ToArray();
    }
}
