using System.Collections.Concurrent;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>
/// Records every request path and lets a test replace the body of the n-th request to a path (1-based), e.g. to play
/// a worker that restarted with a new key and no longer opens what the client sealed.
/// </summary>
public sealed class RewritingHandler(Func<string, int, HttpContent?, HttpContent?> rewrite) : DelegatingHandler
{
    private readonly ConcurrentQueue<string> _paths = new();
    private readonly ConcurrentDictionary<string, int> _counts = new();

    /// <summary>A handler that only records.</summary>
    public RewritingHandler()
        : this((_, _, content) => content)
    {
    }

    public IReadOnlyList<string> Paths => [.. _paths];

    /// <summary>How many GET /v1/attestation requests went out.</summary>
    public int Attestations => _paths.Count(p => p.TrimEnd('/') == "/v1/attestation");

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        _paths.Enqueue(path);
        request.Content = rewrite(path, _counts.AddOrUpdate(path, 1, (_, n) => n + 1), request.Content);
        return base.SendAsync(request, cancellationToken);
    }
}
