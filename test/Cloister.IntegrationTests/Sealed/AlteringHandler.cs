using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>
/// Plays a hostile router for the client: rewrites the JSON of GET /v1/attestation answers with <c>alter</c> and
/// records every request path, so a test can assert that no sealed request was sent.
/// </summary>
public sealed class AlteringHandler(Action<JsonObject, int> alter) : DelegatingHandler
{
    private readonly ConcurrentQueue<string> _paths = new();
    private int _attestations;

    public IReadOnlyList<string> Paths => [.. _paths];

    /// <summary>Whether anything but an attestation request was sent.</summary>
    public bool SentSealedRequest => _paths.Any(p => !p.StartsWith("/v1/attestation", StringComparison.Ordinal));

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _paths.Enqueue(request.RequestUri!.AbsolutePath);
        var response = await base.SendAsync(request, cancellationToken);
        if (request.RequestUri.AbsolutePath.TrimEnd('/') == "/v1/attestation" && response.IsSuccessStatusCode)
        {
            var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!.AsObject();
            alter(json, Interlocked.Increment(ref _attestations));
            response.Content = new StringContent(json.ToJsonString(), Encoding.UTF8, "application/json");
        }

        return response;
    }
}
