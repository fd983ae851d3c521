using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace Cloister.Server.Http;

/// <summary>Source-generated JSON for problem details (the bodies themselves are <see cref="ApiJsonContext"/>'s).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(HttpValidationProblemDetails))]
internal sealed partial class ProblemJsonContext : JsonSerializerContext;
