using System.Text;
using System.Text.Json;
using Cloister.Protocol;
using static Cloister.Enclave.Tests.Functions.TestFunctions;

namespace Cloister.Enclave.Tests.Functions;

/// <summary>
/// What the router keeps of an unsealed invocation (<see cref="InvocationCompletedResponse.Stored"/>): the result or the
/// error, encrypted under the tenant's data key and bound to the tenant, the invocation and the key version; only the
/// worker opens it (<see cref="OpenInvocationOutcomeRequest"/>).
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class KeptOutcomeTests(FunctionRouters routers) : IClassFixture<FunctionRouters>
{
    private static readonly CancellationToken None = CancellationToken.None;

    private FunctionRouter Router => routers.For(FunctionRouters.DefaultBackend);

    [Fact]
    public async Task KeptOutcome_HoldsTheResultOrTheErrorOnlyEncrypted_AndOpensToThem()
    {
        var tenant = await Router.CreateTenantAsync();
        var secret = "CANARY-result-" + Guid.NewGuid().ToString("N");
        var failure = "CANARY-error-" + Guid.NewGuid().ToString("N");

        var succeeded = await Router.InvokeAsync(tenant, PythonPlaintext, JsonSerializer.Serialize(new { mode = "echo", secret }));
        var failed = await Router.InvokeAsync(tenant, PythonPlaintext, JsonSerializer.Serialize(new { mode = "raise", value = failure }));

        // The caller of a synchronous invocation gets the outcome in clear; what the router keeps holds neither value.
        Assert.Contains(secret, succeeded.Result, StringComparison.Ordinal);
        Assert.Contains(failure, failed.Error.Detail, StringComparison.Ordinal);
        var keptResult = Assert.IsType<StoredOutcome>(succeeded.Completion.Stored);
        var keptError = Assert.IsType<StoredOutcome>(failed.Completion.Stored);
        Assert.Equal((1, 1), (keptResult.KeyVersion, keptError.KeyVersion));
        Assert.False(keptResult.Ciphertext.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0);
        Assert.False(keptError.Ciphertext.AsSpan().IndexOf(Encoding.UTF8.GetBytes(failure)) >= 0);

        var result = Assert.IsType<InvocationOutcomeResponse>(await Router.SendAsync(new OpenInvocationOutcomeRequest(succeeded.Completion.InvocationId, keptResult) { TenantId = tenant }));
        var error = Assert.IsType<InvocationOutcomeResponse>(await Router.SendAsync(new OpenInvocationOutcomeRequest(failed.Completion.InvocationId, keptError) { TenantId = tenant }));
        Assert.Null(result.Error);
        Assert.Equal(secret, JsonDocument.Parse(result.ResultJson!).RootElement.GetProperty("secret").GetString());
        Assert.Null(error.ResultJson);
        Assert.Equal(failed.Error, error.Error);
    }

    [Fact]
    public async Task KeptOutcome_OpensOnlyForItsTenantInvocationAndKeyVersion_AndOlderVersionsKeepOpening()
    {
        // No sandbox backend here: the invocation ends before any code runs, and even that outcome is kept encrypted.
        using var vault = new TestVault();
        var tenant = await vault.CreateTenantAsync();
        var other = await vault.CreateTenantAsync();
        var first = await InvokeAsync(vault, tenant, "inv-first", keyVersion: 1);
        Assert.Equal(FunctionErrorCodes.SandboxUnavailable, first.Error!.Code);
        var kept = Assert.IsType<StoredOutcome>(first.Stored);

        Assert.Equal(first.Error, (await OpenAsync(vault.Client, tenant, "inv-first", kept)).Error);
        await AssertRefusedAsync(vault.Client, tenant, "inv-other", kept);
        await AssertRefusedAsync(vault.Client, other, "inv-first", kept);
        var tampered = kept.Ciphertext.ToArray();
        tampered[^1] ^= 1;
        await AssertRefusedAsync(vault.Client, tenant, "inv-first", kept with { Ciphertext = tampered });

        await vault.RotateAsync(tenant, 2);
        await AssertRefusedAsync(vault.Client, tenant, "inv-first", kept with { KeyVersion = 2 });
        var second = await InvokeAsync(vault, tenant, "inv-second", keyVersion: 2);
        Assert.Equal(2, second.Stored!.KeyVersion);
        Assert.Equal(second.Error, (await OpenAsync(vault.Client, tenant, "inv-second", second.Stored)).Error);

        // A worker that started since (an empty keyring) loads the old version to open the old outcome.
        var restarted = new EnclaveClient(vault.NewEnclaveTransport(), vault.WrappedKeys);
        Assert.Equal(first.Error, (await OpenAsync(restarted, tenant, "inv-first", kept)).Error);

        var malformed = await vault.Client.SendAsync(new OpenInvocationOutcomeRequest("inv-first", kept with { KeyVersion = 0 }) { TenantId = tenant }, None);
        Assert.Equal(EnclaveErrorCodes.BadRequest, Assert.IsType<EnclaveErrorResponse>(malformed).Error.Code);
    }

    [Fact]
    public async Task MutatedOpenFrames_AlwaysGetAResponse_NeverInternal_AndNeverOpenToAnythingElse()
    {
        using var vault = new TestVault();
        var tenant = await vault.CreateTenantAsync();
        var kept = (await InvokeAsync(vault, tenant, "inv-fuzz", keyVersion: 1)).Stored!;
        var original = await OpenAsync(vault.Client, tenant, "inv-fuzz", kept);
        var frame = Frames.Enclave.Encode(new OpenInvocationOutcomeRequest("inv-fuzz", kept) { TenantId = tenant });
        var random = new Random(20261123);

        for (var i = 0; i < 300; i++)
        {
            var response = Frames.Enclave.DecodeResponse(await vault.EnclaveTransport.SendAsync(FrameHandlingTests.Mutate(frame, random), None));

            switch (response)
            {
                case EnclaveErrorResponse failed:
                    Assert.NotEqual(EnclaveErrorCodes.Internal, failed.Error.Code);
                    break;
                case InvocationOutcomeResponse opened:
                    Assert.Equal(original, opened);
                    break;
                case KeysRequiredResponse:
                    break;
                default:
                    Assert.Fail($"unexpected response {response}");
                    break;
            }
        }
    }

    private static Task<InvocationCompletedResponse> InvokeAsync(TestVault vault, string tenant, string invocationId, int keyVersion)
        => vault.Client.SendAsync<InvocationCompletedResponse>(new InvokeFunctionRequest(invocationId, Python.Ref, "{}", keyVersion, Python.Package) { TenantId = tenant }, None);

    private static Task<InvocationOutcomeResponse> OpenAsync(EnclaveClient client, string tenant, string invocationId, StoredOutcome kept)
        => client.SendAsync<InvocationOutcomeResponse>(new OpenInvocationOutcomeRequest(invocationId, kept) { TenantId = tenant }, None);

    private static async Task AssertRefusedAsync(EnclaveClient client, string tenant, string invocationId, StoredOutcome kept)
    {
        var response = await client.SendAsync(new OpenInvocationOutcomeRequest(invocationId, kept) { TenantId = tenant }, None);
        Assert.Equal(EnclaveErrorCodes.DecryptFailed, Assert.IsType<EnclaveErrorResponse>(response).Error.Code);
    }
}
