using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Api.Contracts;

/// <summary>Source-generated JSON for every HTTP body (camelCase).</summary>
/// <remarks>
/// <c>Default</c> binds as the router reads requests: member names exactly as written (the web
/// defaults fold case), no member twice, none unknown; the router's StrictJson checks the same rules first to name the
/// refusal. The SDK reads answers leniently through an instance with its own options (unknown members skipped, so that a
/// newer server's additions do not break it).
/// </remarks>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    PropertyNameCaseInsensitive = false,
    AllowDuplicateProperties = false,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CreateTokenRequest))]
[JsonSerializable(typeof(BatchCreateRequest))]
[JsonSerializable(typeof(TokenCreated))]
[JsonSerializable(typeof(BatchCreated))]
[JsonSerializable(typeof(TokenInfo))]
[JsonSerializable(typeof(RevealedValue))]
[JsonSerializable(typeof(SearchRequest))]
[JsonSerializable(typeof(SearchResult))]
[JsonSerializable(typeof(CreateTenantRequest))]
[JsonSerializable(typeof(TenantCreated))]
[JsonSerializable(typeof(CreateApiKeyRequest))]
[JsonSerializable(typeof(ApiKeyCreated))]
[JsonSerializable(typeof(ApiKeyList))]
[JsonSerializable(typeof(DataKeyRotated))]
[JsonSerializable(typeof(TenantDeleted))]
[JsonSerializable(typeof(DataKeyRetired))]
[JsonSerializable(typeof(VerifyEvidenceRequest))]
[JsonSerializable(typeof(VerifyEvidenceResponse))]
[JsonSerializable(typeof(JsonWebKeySet))]
[JsonSerializable(typeof(DeployFunctionRequest))]
[JsonSerializable(typeof(FunctionDeployed))]
[JsonSerializable(typeof(FunctionList))]
[JsonSerializable(typeof(FunctionDetail))]
[JsonSerializable(typeof(InvokeFunctionBody))]
[JsonSerializable(typeof(InvocationSucceeded))]
[JsonSerializable(typeof(InvocationAccepted))]
[JsonSerializable(typeof(InvocationInfo))]
[JsonSerializable(typeof(WorkerAttestationInfo))]
[JsonSerializable(typeof(SealedTokenizeBody))]
[JsonSerializable(typeof(SealedRevealBody))]
[JsonSerializable(typeof(SealedRevealed))]
[JsonSerializable(typeof(SealedInvokeBody))]
[JsonSerializable(typeof(SealedInvocationOutput))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
