using System.Text.Json;
using System.Text.Json.Serialization;
using Cloister.Server.Attestation;
using Cloister.Server.Functions;
using Cloister.Server.Sealed;
using Cloister.Server.Tenants;
using Cloister.Server.Tokens;
using Microsoft.AspNetCore.Mvc;

namespace Cloister.Server.Http;

/// <summary>Source-generated JSON for every HTTP body (camelCase).</summary>
/// <remarks>
/// Request bodies bind strictly: member names exactly as written (the web defaults fold case), no member twice, none
/// unknown. <see cref="StrictJson"/> checks the same rules first to name the refusal; these options hold them anyway.
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
[JsonSerializable(typeof(SealedInvocationResult))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(HttpValidationProblemDetails))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
