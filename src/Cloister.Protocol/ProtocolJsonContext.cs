using System.Text.Json.Serialization;

namespace Cloister.Protocol;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EnclaveRequest))]
[JsonSerializable(typeof(EnclaveResponse))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
