using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloister.Protocol.Http;

/// <summary>The server side of <see cref="HttpFrameTransport"/>: one POST endpoint handing frames to a handler.</summary>
public static class FrameEndpoint
{
    /// <summary>
    /// Map POST <paramref name="pattern"/> to <paramref name="handler"/>; a body above <paramref name="maxBytes"/>, or an
    /// answer above it, gets 413 (only that request fails; the client raises <see cref="FrameTooLargeException"/>).
    /// With <paramref name="bearerToken"/>, a request without <c>Authorization: Bearer</c> and that token gets 401.
    /// </summary>
    public static IEndpointConventionBuilder MapFrames(this IEndpointRouteBuilder routes, string pattern, IFrameHandler handler, long maxBytes, string? bearerToken = null)
    {
        var expected = bearerToken is null ? null : Encoding.UTF8.GetBytes("Bearer " + bearerToken);
        return routes.MapPost(pattern, async (HttpContext http) =>
        {
            if (expected is not null && !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(http.Request.Headers.Authorization.ToString()), expected))
            {
                http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }

            var length = http.Request.ContentLength;
            if (length is null || length > maxBytes)
            {
                http.Response.StatusCode = length is null ? StatusCodes.Status411LengthRequired : StatusCodes.Status413PayloadTooLarge;
                return;
            }

            var request = new byte[length.Value];
            await http.Request.Body.ReadExactlyAsync(request, http.RequestAborted);
            var response = await handler.HandleAsync(request, http.RequestAborted);
            if (response.Length > maxBytes)
            {
                http.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                return;
            }

            http.Response.ContentType = HttpFrameTransport.ContentType;
            http.Response.ContentLength = response.Length;
            await http.Response.Body.WriteAsync(response, http.RequestAborted);
        });
    }
}
