using System.Net.Http.Headers;

namespace Cloister.Protocol.Http;

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
    private readonly AuthenticationHeaderValue? _authorization;

    /// <summary>
    /// Send frames to <paramref name="endpoint"/> with <paramref name="http"/> (the caller owns it), each with
    /// <c>Authorization: Bearer <paramref name="bearerToken"/></c> when one is given (a listening worker requires it).
    /// </summary>
    public HttpFrameTransport(HttpClient http, Uri endpoint, string? bearerToken = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        _http = http;
        _endpoint = endpoint;
        _authorization = bearerToken is null ? null : new AuthenticationHeaderValue("Bearer", bearerToken);
    }

    /// <summary>The largest request or response frame, in bytes (default <see cref="FrameLimits.MaxFrameBytes"/>).</summary>
    public long MaxFrameBytes { get; init; } = FrameLimits.MaxFrameBytes;

    /// <inheritdoc />
    /// <exception cref="TransportUnavailableException">The endpoint could not be reached or did not answer 200.</exception>
    /// <exception cref="FrameTooLargeException">The request or its response is larger than <see cref="MaxFrameBytes"/> (the endpoint answered 413).</exception>
    public async ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        if (request.Length > MaxFrameBytes)
        {
            throw TooLarge("request");
        }

        using var content = new ReadOnlyMemoryContent(request);
        content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = content };
            message.Headers.Authorization = _authorization;
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode == System.Net.HttpStatusCode.RequestEntityTooLarge
                || response.Content.Headers.ContentLength > MaxFrameBytes)
            {
                throw TooLarge(response.StatusCode == System.Net.HttpStatusCode.RequestEntityTooLarge ? "request or its response" : "response");
            }

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

    private FrameTooLargeException TooLarge(string what)
        => new($"The {what} is larger than the {MaxFrameBytes} bytes one frame to {_endpoint.GetLeftPart(UriPartial.Authority)} may carry.", MaxFrameBytes);
}
