using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cloister.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cloister.Server.Tokens;

/// <summary>Checks a create request's shape and limits before anything reaches the enclave.</summary>
internal static partial class TokenValidation
{
    private const long MaxTtlSeconds = 10L * 366 * 24 * 3600;
    private const int MaxMetadataBytes = 4096;

    public static (NewToken? Item, ProblemHttpResult? Problem) Validate(CreateTokenRequest? request, int maxValueBytes, DateTimeOffset now, int? index = null)
    {
        var where = index is null ? "" : $"items[{index}].";
        var extensions = index is null ? null : new Dictionary<string, object?> { ["index"] = index };
        if (request is null)
        {
            return Fail($"{where.TrimEnd('.')} must be a JSON object.");
        }

        if (request.Value is null)
        {
            return Fail($"'{where}value' is required and must be a string.");
        }

        if (request.Value.Length == 0)
        {
            return Fail($"'{where}value' must not be empty.");
        }

        if (request.Value.Length > maxValueBytes || Encoding.UTF8.GetByteCount(request.Value) > maxValueBytes)
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, "value-too-large", "Value too large", $"'{where}value' exceeds the limit of {maxValueBytes} bytes.", extensions));
        }

        return ValidateOptions(new TokenOptions(request.Format, request.Alphabet, request.Classifier, request.Deterministic, request.TtlSeconds, request.Metadata), request.Value, null, now, index);

        (NewToken?, ProblemHttpResult?) Fail(string detail)
            => (null, Problems.Create(StatusCodes.Status400BadRequest, "invalid-request", "Invalid request", detail, extensions));
    }

    /// <summary>Checks a batch's size (1..<paramref name="max"/>) and validates each item in order; the first problem wins.</summary>
    public static (List<NewToken>? Items, ProblemHttpResult? Problem) ValidateBatch<T>(IReadOnlyList<T>? batch, int max, Func<T, int, (NewToken? Item, ProblemHttpResult? Problem)> validate)
    {
        if (batch is null || batch.Count == 0)
        {
            return (null, Problems.Invalid("'items' must be a non-empty array."));
        }

        if (batch.Count > max)
        {
            return (null, Problems.Invalid("batch-too-large", "Batch too large", $"A batch holds at most {max} items; this one has {batch.Count}."));
        }

        var items = new List<NewToken>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var (item, invalid) = validate(batch[i], i);
            if (invalid is not null)
            {
                return (null, invalid);
            }

            items.Add(item!);
        }

        return (items, null);
    }

    /// <summary>A sealed item: the box (base64) within the value limit plus the box's overhead, and the same options as an unsealed item.</summary>
    public static (NewToken? Item, ProblemHttpResult? Problem) ValidateSealed(SealedTokenItem? request, int maxValueBytes, DateTimeOffset now, int index)
    {
        var where = $"items[{index}].";
        var extensions = new Dictionary<string, object?> { ["index"] = index };
        if (request is null)
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, "invalid-request", "Invalid request", $"items[{index}] must be a JSON object.", extensions));
        }

        var box = Base64OrNull(request.SealedValue);
        var overhead = box is { Length: > 0 } && box[0] == SessionBoxVersion ? SessionBoxOverhead : SealedBoxOverhead;
        if (box is null || box.Length <= overhead)
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, "invalid-request", "Invalid request", $"'{where}sealedValue' is required: a sealed box in base64.", extensions));
        }

        if (box.Length > maxValueBytes + overhead)
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, "value-too-large", "Value too large", $"'{where}sealedValue' exceeds the limit of {maxValueBytes} bytes of value.", extensions));
        }

        return ValidateOptions(new TokenOptions(request.Format, request.Alphabet, request.Classifier, request.Deterministic, request.TtlSeconds, request.Metadata), null, box, now, index);
    }

    /// <summary>A sealed box's bytes beyond the plaintext: version, AEAD id, the 65-byte enc and the 16-byte tag.</summary>
    public const int SealedBoxOverhead = 1 + 1 + 65 + 16;

    /// <summary>A session box's bytes beyond the plaintext: version, the 16-byte session id, the 32-byte message nonce and the tag.</summary>
    private const int SessionBoxOverhead = 1 + 16 + 32 + 16;

    /// <summary>The first byte of a session box (a request box starts with 0x01).</summary>
    private const byte SessionBoxVersion = 0x03;

    /// <summary>Decoded base64, or null.</summary>
    public static byte[]? Base64OrNull(string? base64)
    {
        if (string.IsNullOrEmpty(base64))
        {
            return null;
        }

        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private sealed record TokenOptions(string? Format, string? Alphabet, string? Classifier, bool? Deterministic, long? TtlSeconds, JsonElement? Metadata);

    private static (NewToken? Item, ProblemHttpResult? Problem) ValidateOptions(TokenOptions request, string? value, byte[]? sealedValue, DateTimeOffset now, int? index)
    {
        var where = index is null ? "" : $"items[{index}].";
        var extensions = index is null ? null : new Dictionary<string, object?> { ["index"] = index };

        // An empty string means the default, as an absent field does.
        var format = string.IsNullOrEmpty(request.Format) ? TokenFormatNames.Random : request.Format;
        var requestedAlphabet = string.IsNullOrEmpty(request.Alphabet) ? null : request.Alphabet;
        if (requestedAlphabet is not null && format != TokenService.FpeFormat)
        {
            return Fail($"'{where}alphabet' applies only to the fpe format.");
        }

        var classifier = request.Classifier ?? "generic";
        if (!ClassifierPattern().IsMatch(classifier))
        {
            return Fail($"'{where}classifier' must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit.");
        }

        DateTimeOffset? expiresAt = null;
        if (request.TtlSeconds is { } ttl)
        {
            if (ttl <= 0 || ttl > MaxTtlSeconds)
            {
                return Fail($"'{where}ttlSeconds' must be between 1 and {MaxTtlSeconds}.");
            }

            expiresAt = now.AddSeconds(ttl);
        }

        string? metadata = null;
        if (request.Metadata is { } element && element.ValueKind != JsonValueKind.Null)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                return Fail($"'{where}metadata' must be a JSON object.");
            }

            metadata = element.GetRawText();
            if (Encoding.UTF8.GetByteCount(metadata) > MaxMetadataBytes)
            {
                return Fail($"'{where}metadata' exceeds {MaxMetadataBytes} bytes.");
            }
        }

        var alphabet = format == TokenService.FpeFormat ? requestedAlphabet ?? TokenFormatNames.Digits : null;
        return (new NewToken(value, format, alphabet, classifier, request.Deterministic ?? false, expiresAt, metadata, sealedValue), null);

        (NewToken?, ProblemHttpResult?) Fail(string detail)
            => (null, Problems.Create(StatusCodes.Status400BadRequest, "invalid-request", "Invalid request", detail, extensions));
    }

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,63}\z")]
    private static partial Regex ClassifierPattern();
}
