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
/// The body is read whole into pooled chunks (<see cref="PooledBody"/>, bounded by the route's limit, zeroed after use),
/// checked against <see cref="StrictJson"/>'s member rules, then bound.
/// </remarks>
internal static class JsonBody
{
    /// <summary>Body limit of every route but the batch one: a maximal value JSON-escaped (×6) plus metadata fits.</summary>
    public const long DefaultLimit = 1024 * 1024;

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

        // A large body waits for a large-request slot before a byte of it is read (429 when the tenant has too many).
        await request.HttpContext.RequestServices.GetRequiredService<LargeRequests>().EnterAsync(request.HttpContext, request.ContentLength);

        PooledBody body;
        try
        {
            body = await PooledBody.ReadAsync(request.Body, request.HttpContext.RequestAborted);
        }
        catch (BadHttpRequestException e)
        {
            return (null, Problems.FromBadRequest(e));
        }

        using (body)
        {
            var json = body.ToSequence();
            if (StrictJson.Check(json, type) is { } refusal)
            {
                return (null, Problems.JsonRefused(refusal));
            }

            try
            {
                var reader = new Utf8JsonReader(json, StrictJson.ReaderOptions(type.Options));
                var value = JsonSerializer.Deserialize(ref reader, type);

                // Deserialize stops after one value; anything but whitespace after it makes the body malformed.
                if (reader.Read())
                {
                    return (null, Problems.MalformedJson(null));
                }

                return value is null ? (null, Problems.Invalid("The request body must be a JSON object.")) : (value, null);
            }
            catch (JsonException e)
            {
                return (null, Problems.MalformedJson(e.Path));
            }
        }
    }
}
