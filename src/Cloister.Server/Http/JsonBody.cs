using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cloister.Server.Http;

/// <summary>
/// Reads a JSON request body ourselves rather than through minimal-API binding, so that malformed
/// JSON and wrong types get our stable problem types and a detail that names the JSON path only
/// (System.Text.Json messages never include the offending value, but we do not rely on that).
/// </summary>
internal static class JsonBody
{
    public static async ValueTask<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type)
        where T : class
    {
        if (request.ContentLength == 0)
        {
            return (null, Problems.Invalid("The request body is empty; send a JSON object."));
        }

        try
        {
            var value = await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted);
            return value is null ? (null, Problems.Invalid("The request body must be a JSON object.")) : (value, null);
        }
        catch (JsonException e)
        {
            return (null, Problems.MalformedJson(e.Path));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problems.Create(StatusCodes.Status413PayloadTooLarge, "body-too-large", "Request body too large", "The request body exceeds the server's limit."));
        }
    }
}
