using Microsoft.Data.Sqlite;

namespace Cloister.Storage;

/// <summary>
/// One caller's write, queued for <see cref="SqliteWriter"/>. It runs inside a transaction that may hold
/// other callers' writes too, and its task completes only after that transaction has committed.
/// </summary>
internal abstract class WriteOperation
{
    protected WriteOperation(int rows, CancellationToken cancellationToken)
    {
        Rows = rows;
        CancellationToken = cancellationToken;
    }

    /// <summary>Roughly how many rows it writes; bounds how much one commit carries.</summary>
    public int Rows { get; }

    /// <summary>Honoured until the operation starts; once inside a transaction it runs to the end.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Why it failed inside the current transaction, or null.</summary>
    public Exception? Error { get; set; }

    /// <summary>Does the work on the writer's connection; keeps the result until <see cref="Complete"/>.</summary>
    public abstract void Execute(SqliteWriter writer);

    /// <summary>Called after COMMIT: hands the result to the caller.</summary>
    public abstract void Complete();

    public abstract void Fail(Exception error);

    public abstract void Cancel();

    /// <summary>SQLite errors become the library's exception; the rest (argument errors, conflicts) pass as they are.</summary>
    protected static Exception Translate(Exception error) => error is SqliteException sqlite
        ? new VaultStoreException($"The database write failed: {sqlite.Message}", sqlite)
        : error;
}

internal sealed class WriteOperation<TState, TResult> : WriteOperation
{
    private readonly Func<SqliteWriter, TState, TResult> _work;
    private readonly TState _state;

    // Continuations run on the thread pool, never inline on the writer loop.
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TResult? _result;

    public WriteOperation(Func<SqliteWriter, TState, TResult> work, TState state, int rows, CancellationToken cancellationToken)
        : base(rows, cancellationToken)
    {
        _work = work;
        _state = state;
    }

    public Task<TResult> Task => _completion.Task;

    public override void Execute(SqliteWriter writer) => _result = _work(writer, _state);

    public override void Complete() => _completion.TrySetResult(_result!);

    public override void Fail(Exception error) => _completion.TrySetException(Translate(error));

    public override void Cancel() => _completion.TrySetCanceled(CancellationToken);
}
