using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Cloister.Server.Http;

/// <summary>The scopes a route requires (one of them); read by the OpenAPI document to name the scope and the bearer scheme.</summary>
internal sealed record ScopeMetadata(IReadOnlyList<string> Scopes);

/// <summary>A header a route sends with a status, documented in the OpenAPI document.</summary>
internal sealed record ResponseHeaderMetadata(int Status, string Name, string Description);

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>: built from the handlers' typed results and metadata, then completed
/// by transformers where attributes cannot say it (the bearer scheme and each route's scope, the shared problem schema's
/// headers, the string enums of the contracts' <see cref="AllowedValuesAttribute"/>s, integers that are only integers).
/// </summary>
internal static class ApiDocument
{
    public const string BearerScheme = "bearer";
    public const string ProblemContentType = "application/problem+json";

    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["Health"] = "Liveness and readiness probes (no API key).",
        ["Tokens"] = "Tokenize values, read a token's metadata, reveal, delete and search.",
        ["Sealed"] = "Tokenize, reveal and invoke with payloads sealed to the attested enclave worker (docs/api.md, \"Sealed requests\").",
        ["Functions"] = "Deploy, list and delete functions; invoke them and read invocations.",
        ["Attestation"] = "The enclave worker's evidence, evidence verification and the result-signing keys.",
        ["Admin"] = "Tenants, API keys and data keys (admin key only).",
    };

    private static readonly Dictionary<int, string> StatusDescriptions = new()
    {
        [400] = "The request is invalid (problem details name the field).",
        [401] = "No API key, or one that is invalid or revoked.",
        [403] = "The API key lacks the route's scope.",
        [404] = "No such object in the caller's tenant.",
        [408] = "The request body arrived too slowly.",
        [409] = "The request conflicts with the current state.",
        [413] = "The request body, or one message to the enclave worker, is too large.",
        [415] = "The body is not sent as application/json.",
        [422] = "The function ran and failed.",
        [429] = "Too many requests: retry after Retry-After seconds.",
        [500] = "The server could not complete the request.",
        [503] = "Temporarily unavailable: retry after Retry-After seconds.",
    };

    // The schema of any JSON value ({}), shared: TransformSchema leaves it alone.
    private static readonly OpenApiSchema AnyJsonValue = new();

    /// <summary>Registers the document and its transformers.</summary>
    public static IServiceCollection AddCloisterOpenApi(this IServiceCollection services)
        => services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer(TransformDocument);
            options.AddOperationTransformer(TransformOperation);
            options.AddSchemaTransformer(TransformSchema);
        });

    /// <summary>Documents problem details (the shared schema, <c>application/problem+json</c>) for each of <paramref name="statuses"/>.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params int[] statuses)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), [ProblemContentType]));
        }

        return builder;
    }

    /// <summary>Documents the problems of a route that reads a JSON body: invalid (400), too slow (408), too large (413), not JSON (415).</summary>
    public static TBuilder ProducesBodyProblems<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
        => builder.ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status408RequestTimeout, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType);

    /// <summary>
    /// Documents the problems of a route that asks the enclave worker: the tenant's share is full (429), the worker failed (500),
    /// the worker is restarting or keys are unavailable (503).
    /// </summary>
    public static TBuilder ProducesEnclaveProblems<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
        => builder.ProducesProblems(StatusCodes.Status429TooManyRequests, StatusCodes.Status500InternalServerError, StatusCodes.Status503ServiceUnavailable);

    /// <summary>Documents that the route sends <paramref name="name"/> with <paramref name="status"/>.</summary>
    public static TBuilder WithResponseHeader<TBuilder>(this TBuilder builder, int status, string name, string description)
        where TBuilder : IEndpointConventionBuilder
        => builder.WithMetadata(new ResponseHeaderMetadata(status, name, description));

    private static Task TransformDocument(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Cloister API",
            Version = "v1",
            Description = "Token vault, confidential functions and attestation (docs/api.md). Every error is RFC 9457 problem details.",
        };

        // Server URLs come from the request's host with a trailing slash; paths start with one.
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key, `Authorization: Bearer ck_…`. Each operation names the scope it requires (`x-required-scopes`).",
        };

        if (document.Components.Schemas?.ContainsKey(nameof(JsonElement)) == true)
        {
            document.Components.Schemas[nameof(JsonElement)] = new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = AnyJsonValue, Description = "A JSON object." };
        }

        StripOptionalNulls(document);

        document.Tags ??= new HashSet<OpenApiTag>();
        foreach (var tag in document.Tags)
        {
            if (tag.Name is { } name && TagDescriptions.TryGetValue(name, out var description))
            {
                tag.Description = description;
            }
        }

        return Task.CompletedTask;
    }

    private static Task TransformOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var scopes = metadata.OfType<ScopeMetadata>().LastOrDefault();
        operation.Security = [];
        if (scopes is not null)
        {
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
            var names = string.Join(" or ", scopes.Scopes.Select(s => $"`{s}`"));
            operation.Description = $"{operation.Description}{(operation.Description is null ? "" : "\n\n")}Requires an API key with the scope {names}.";
            operation.Extensions ??= new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal);
            operation.Extensions["x-required-scopes"] = new JsonNodeExtension(new JsonArray([.. scopes.Scopes.Select(s => JsonValue.Create(s))]));
        }

        foreach (var (code, response) in operation.Responses ?? [])
        {
            if (response is not OpenApiResponse concrete || !int.TryParse(code, out var status))
            {
                continue;
            }

            if (status >= 400 && StatusDescriptions.TryGetValue(status, out var description))
            {
                concrete.Description = description;
            }

            if (status is 429 or 503)
            {
                AddHeader(concrete, "Retry-After", "Seconds to wait before retrying.", JsonSchemaType.Integer);
            }

            foreach (var header in metadata.OfType<ResponseHeaderMetadata>().Where(h => h.Status == status))
            {
                AddHeader(concrete, header.Name, header.Description, JsonSchemaType.String);
            }
        }

        return Task.CompletedTask;
    }

    private static void AddHeader(OpenApiResponse response, string name, string description, JsonSchemaType type)
    {
        response.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.OrdinalIgnoreCase);
        response.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = type } };
    }

    private static Task TransformSchema(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        // The members of a JSON object set below are any JSON values: the transformer visits that schema too, with the
        // object's context; it stays as it is.
        if (ReferenceEquals(schema, AnyJsonValue))
        {
            return Task.CompletedTask;
        }

        var type = context.JsonTypeInfo.Type;

        // Every JsonElement member of the API (metadata, args, manifest, policy, keys) is a JSON object; the router checks it.
        if (type == typeof(JsonElement) || context.JsonPropertyInfo?.PropertyType == typeof(JsonElement))
        {
            schema.Type = JsonSchemaType.Object;
            schema.AdditionalProperties = AnyJsonValue;
        }
        else if (type == typeof(JsonElement?) || context.JsonPropertyInfo?.PropertyType == typeof(JsonElement?))
        {
            schema.Type = JsonSchemaType.Object | JsonSchemaType.Null;
            schema.AdditionalProperties = AnyJsonValue;
            schema.OneOf = [];
        }

        if (type == typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))
        {
            DescribeProblem(schema);
        }

        // Numbers are written as numbers; the web defaults' "or a numeric string" is reading leniency, not the contract.
        if (schema.Type is { } t && t.HasFlag(JsonSchemaType.Integer) && t.HasFlag(JsonSchemaType.String))
        {
            schema.Type = t & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        var attributes = context.JsonPropertyInfo?.AttributeProvider
            ?? (context.ParameterDescription?.ParameterDescriptor as Microsoft.AspNetCore.Mvc.Infrastructure.IParameterInfoParameterDescriptor)?.ParameterInfo;
        if (attributes?.GetCustomAttributes(typeof(AllowedValuesAttribute), inherit: true).OfType<AllowedValuesAttribute>().FirstOrDefault() is { } allowed)
        {
            var target = schema.Type is { } s && s.HasFlag(JsonSchemaType.Array) && schema.Items is OpenApiSchema items ? items : schema;
            target.Enum = [.. allowed.Values.OfType<string>().Select(v => (JsonNode)JsonValue.Create(v))];
            if (target.Type is { } nullable && nullable.HasFlag(JsonSchemaType.Null))
            {
                target.Enum.Add(JsonNullSentinel.JsonNull);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>An optional member is left out rather than sent as null: document it without the null.</summary>
    private static void StripOptionalNulls(OpenApiDocument document)
    {
        foreach (var schema in document.Components?.Schemas?.Values.OfType<OpenApiSchema>() ?? [])
        {
            foreach (var (name, property) in schema.Properties?.ToList() ?? [])
            {
                if (schema.Required?.Contains(name) == true || property is not OpenApiSchema optional)
                {
                    continue;
                }

                if (optional.Type is { } type && type.HasFlag(JsonSchemaType.Null))
                {
                    optional.Type = type & ~JsonSchemaType.Null;
                    if (optional.Enum?.FirstOrDefault(JsonNullSentinel.IsJsonNullSentinel) is { } jsonNull)
                    {
                        optional.Enum.Remove(jsonNull);
                    }
                }

                var notNull = optional.OneOf?.Where(s => s is not OpenApiSchema { Type: JsonSchemaType.Null }).ToList();
                if (notNull is { Count: 1 } && optional.OneOf!.Count == 2)
                {
                    schema.Properties![name] = notNull[0];
                }
            }
        }
    }

    /// <summary>The problem details members every Cloister problem has besides RFC 9457's (docs/api.md, "Errors").</summary>
    private static void DescribeProblem(OpenApiSchema schema)
    {
        schema.Description = "RFC 9457 problem details. `type` is `urn:cloister:problem:{code}`; extension members (`index`, `scope`, `retryable`, `invocationId`, …) depend on the code.";
        schema.Properties ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        schema.Properties["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The stable problem code (the end of `type`)." };
        schema.AdditionalProperties = AnyJsonValue;
    }
}
