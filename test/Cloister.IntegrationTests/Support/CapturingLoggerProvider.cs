using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Cloister.IntegrationTests.Support;

/// <summary>One captured log event: its level, category, event id and everything it carried as text.</summary>
public sealed record LogEntry(LogLevel Level, string Category, EventId EventId, string Text);

/// <summary>
/// Captures every log event the server emits, as text that includes the formatted message, each
/// structured value, the exception (with its message and stack) and the active scopes, so that a search
/// for a secret finds it wherever a log sink could have written it.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private IExternalScopeProvider? _scopes;

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
            => owner._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = new StringBuilder();
            text.Append(formatter(state, exception));
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var (name, value) in values)
                {
                    text.Append(" | ").Append(name).Append('=').Append(value);
                }
            }

            if (exception is not null)
            {
                text.Append(" | exception: ").Append(exception);
            }

            owner._scopes?.ForEachScope(static (scope, builder) => builder.Append(" | scope: ").Append(scope), text);
            owner._entries.Enqueue(new LogEntry(logLevel, category, eventId, text.ToString()));
        }
    }
}
