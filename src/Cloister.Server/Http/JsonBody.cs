using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cloister.Server.Http;

/// <summary>
/// Reads a JSON request body ourselves rather than through minimal-API binding, so that malformed
/// JSON and wrong types get our stable problem types and a detail that names the JSON path only
/// (System.Text.Json messages never include the offending value, but we do not rely on that).
/// </summary>
/// <remarks>
/// The body is read whole into a pooled buffer (bounded by the route's limit), checked against <see cref="StrictJson"/>'s
/// member rules, then bound. The buffer may hold values in the clear, so it is zeroed before it goes back to the pool.
/// </remarks>
internal static class JsonBody
{
    /// <summary>Body limit of every route but the batch one: a maximal value JSON-escaped (×6) plus metadata fits.</summary>
    public const long DefaultLimit = 1024 * 1024;

    // The first buffer; it doubles as the body arrives (a declared Content-Length is not trusted to size it up front).
    private const int InitialBuffer = 16 * 1024;

    public static async ValueTask<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, long? limit = null)
        where T : class
    {
        if (limit is not null && request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        if (request.ContentLength == 0)
        {
            return (null, Problems.Invalid("The request body is empty; send a JSON object."));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        var length = 0;
        try
        {
            try
            {
                int read;
                while ((read = await request.Body.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted)) > 0)
                {
                    length += read;
                    if (length == buffer.Length)
                    {
                        buffer = Grow(buffer, length);
                    }
                }
            }
            catch (BadHttpRequestException e)
            {
                return (null, Problems.FromBadRequest(e));
            }

            var json = buffer.AsSpan(0, length);
            if (StrictJson.Check(json, type) is { } refusal)
            {
                return (null, Problems.JsonRefused(refusal));
            }

            try
            {
                var value = JsonSerializer.Deserialize(json, type);
                return value is null ? (null, Problems.Invalid("The request body must be a JSON object.")) : (value, null);
            }
            catch (JsonException e)
            {
                return (null, Problems.MalformedJson(e.Path));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static byte[] Grow(byte[] buffer, int length)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(2L * buffer.Length, Array.MaxLength));
        buffer.AsSpan(0, length).CopyTo(larger);
        CryptographicOperations.ZeroMemory(buffer.AsSpan(0, length));
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }
}
