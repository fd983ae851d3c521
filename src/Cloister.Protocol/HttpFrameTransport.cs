using System.Net.Http.Headers;

namespace Cloister.Protocol;

/// <summary>
/// Carries frames over HTTP: POST the request frame as application/octet-stream to one URL, the response
/// body is the response frame. Used between hosts (a remote enclave worker, a key broker on another machine)
/// and by the worker to reach the key broker. The server side is a single POST endpoint that hands the body
/// to an <see cref="IFrameHandler"/>.
/// </summary>
public sealed class HttpFrameTransport : IFrameTransport
{
    /// <summary>The content type of request and response frames.</summary>
    public const string ContentType = "application/octet-stream";

    private readonly HttpClient _http;
    private readonly Uri _endpoint;

    /// <summary>Send frames to <paramref name="endpoint"/> with <paramref name="http"/> (the caller owns it).</summary>
    public HttpFrameTransport(HttpClient http, Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        _http = http;
        _endpoint = endpoint;
    }

    /// <inheritdoc />
    /// <exception cref="TransportUnavailableException">The endpoint could not be reached or did not answer 200.</exception>
    public async ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        using var content = new ReadOnlyMemoryContent(request);
        content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        try
        {
            using var response = await _http.PostAsync(_endpoint, content, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new TransportUnavailableException($"{_endpoint.GetLeftPart(UriPartial.Authority)} answered {(int)response.StatusCode}.");
            }

            return await response.Content.ReadAsByteArrayAsync(cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new TransportUnavailableException($"{_endpoint.GetLeftPart(UriPartial.Authority)} could not be reached ({e.HttpRequestError}).", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransportUnavailableException($"{_endpoint.GetLeftPart(UriPartial.Authority)} did not answer in time.", e);
        }
    }
}
