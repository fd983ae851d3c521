using Cloister.Enclave.Functions;
using Cloister.Protocol;
using static Cloister.Enclave.Tests.Functions.TestFunctions;

namespace Cloister.Enclave.Tests.Functions;

/// <summary>The invoke/continue/retire exchange itself: keys, packages, steps, abandonment, retirement.</summary>
[Collection(SandboxCollection.Name)]
public sealed class InvocationProtocolTests(FunctionRouters routers) : IClassFixture<FunctionRouters>
{
    private FunctionRouter Router => routers.For(FunctionRouters.DefaultBackend);

    [Fact]
    public async Task NewTenant_IsAnsweredKeysRequired_ThenRunsWithTheAttachedKeys()
    {
        var tenant = await Router.CreateTenantAsync();

        var run = await Router.InvokeAsync(tenant, Python, """{"mode":"echo","n":1}""");

        Assert.True(run.AskedForKeys);
        Assert.Equal("""{"mode":"echo","n":1}""", run.Result);
    }

    [Fact]
    public async Task PackageOfAnotherVersion_IsMeasurementMismatch_AndIsNotCached()
    {
        var tenant = await Router.CreateTenantAsync();
        var wanted = FreshPython();
        var id = "inv-" + Guid.NewGuid().ToString("N");
        await LoadKeysAsync(tenant);

        var response = await Router.SendAsync(new InvokeFunctionRequest(id, wanted.Ref, "{}", 1, Python.Package) { TenantId = tenant });
        var again = await Router.SendAsync(new InvokeFunctionRequest(id, wanted.Ref, "{}", 1) { TenantId = tenant });

        var completed = Assert.IsType<InvocationCompletedResponse>(response);
        Assert.Equal(FunctionErrorCodes.MeasurementMismatch, completed.Error!.Code);
        Assert.IsType<FunctionRequiredResponse>(again);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("{\"a\":")]
    [InlineData("{\"$token\":\"tok_x\"}")]
    [InlineData("{\"a\":{\"$token\":5}}")]
    [InlineData("{\"a\":{\"$token\":\"tok_x\",\"extra\":1}}")]
    [InlineData("{\"a\":[{\"$token\":\"\"}]}")]
    [InlineData("{\"a\":1,\"a\":2}")]
    public async Task MalformedArgs_AreInvalidArgs(string args)
    {
        var tenant = await Router.CreateTenantAsync();

        var run = await Router.InvokeAsync(tenant, Python, args);

        Assert.Equal(FunctionErrorCodes.InvalidArgs, run.Error.Code);
    }

    [Fact]
    public async Task DeeplyNestedArgs_AreInvalidArgs()
    {
        var tenant = await Router.CreateTenantAsync();
        var args = "{\"a\":" + new string('[', 40) + new string(']', 40) + "}";

        var run = await Router.InvokeAsync(tenant, Python, args);

        Assert.Equal(FunctionErrorCodes.InvalidArgs, run.Error.Code);
    }

    [Fact]
    public async Task Continuations_ForAnotherStep_InvocationOrTenant_AreRefused()
    {
        var tenant = await Router.CreateTenantAsync();
        var other = await Router.CreateTenantAsync();
        var card = await Router.TokenizeAsync(tenant, Card, "card");
        var pending = await StartUntilPendingAsync(tenant, Python, $$"""{"mode":"reveal","token":"{{card}}"}""");
        var answer = Router.Answer(tenant, pending);

        var unknown = await Router.SendAsync(answer with { InvocationId = "inv-never-started" });
        var wrongStep = await Router.SendAsync(answer with { Step = pending.Step + 1 });
        var wrongShape = await Router.SendAsync(answer with { Found = null, Stored = [true] });
        var otherTenant = await Router.SendAsync(answer with { TenantId = other });
        var completed = await Router.SendAsync(answer);
        var afterEnd = await Router.SendAsync(answer);

        Assert.Equal(FunctionErrorCodes.UnknownInvocation, Assert.IsType<EnclaveErrorResponse>(unknown).Error.Code);
        Assert.Equal(EnclaveErrorCodes.BadRequest, Assert.IsType<EnclaveErrorResponse>(wrongStep).Error.Code);
        Assert.Equal(EnclaveErrorCodes.BadRequest, Assert.IsType<EnclaveErrorResponse>(wrongShape).Error.Code);
        Assert.Equal(FunctionErrorCodes.UnknownInvocation, Assert.IsType<EnclaveErrorResponse>(otherTenant).Error.Code);
        Assert.Equal("""{"last4":"1111"}""", Assert.IsType<InvocationCompletedResponse>(completed).ResultJson);
        Assert.Equal(FunctionErrorCodes.UnknownInvocation, Assert.IsType<EnclaveErrorResponse>(afterEnd).Error.Code);
    }

    [Fact]
    public async Task AbandonedContinuation_EndsAtTheWallTimeout_AndItsStateIsRemoved()
    {
        var tenant = await Router.CreateTenantAsync();
        var card = await Router.TokenizeAsync(tenant, Card, "card");
        var function = FreshPython(""","limits":{"wallTimeoutSeconds":1},"isolation":"per-invocation" """);
        // One abandoned inside the sandbox (a ctx.reveal step), one before it (the args' lookup step).
        var inHostCall = await StartUntilPendingAsync(tenant, function, $$"""{"mode":"reveal","token":"{{card}}"}""");
        var inArgs = await StartUntilPendingAsync(tenant, function, $$$"""{"mode":"echo","c":{"$token":"{{{card}}}"}}""");
        Assert.Equal(2, Router.Host.RunningInvocations);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Router.Host.RunningInvocations > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(0, Router.Host.RunningInvocations);
        foreach (var pending in new[] { inHostCall, inArgs })
        {
            var late = await Router.SendAsync(Router.Answer(tenant, pending));
            Assert.Equal(FunctionErrorCodes.UnknownInvocation, Assert.IsType<EnclaveErrorResponse>(late).Error.Code);
        }

        var sleeper = await Router.InvokeAsync(tenant, function, """{"mode":"sleep"}""");
        Assert.Equal("timeout", sleeper.Error.Code);
    }

    [Fact]
    public async Task Retire_DeletesThePackage_AndTheNextInvokeAsksForItAgain()
    {
        var tenant = await Router.CreateTenantAsync();
        var function = FreshPython();
        var first = await Router.InvokeAsync(tenant, function, """{"mode":"echo"}""");
        var extracted = Directory.GetDirectories(Router.PackageDirectory, function.Measurement, SearchOption.AllDirectories);
        Assert.Single(extracted);
        Assert.True(File.Exists(Path.Combine(extracted[0], "handler.py")));

        var retired = await Router.SendAsync(new RetireFunctionRequest(function.Name, [function.Measurement]) { TenantId = tenant });
        var deleted = !Directory.Exists(extracted[0]);
        var again = await Router.InvokeAsync(tenant, function, """{"mode":"echo"}""");

        Assert.True(first.AskedForPackage);
        Assert.IsType<RetireFunctionResponse>(retired);
        Assert.True(deleted);
        Assert.True(again.AskedForPackage);
        Assert.False(again.Completion.Warm);
    }

    [Fact]
    public async Task Packages_AreOnlyCachedPerTenant()
    {
        var tenant = await Router.CreateTenantAsync();
        var other = await Router.CreateTenantAsync();
        var function = FreshPython();

        var mine = await Router.InvokeAsync(tenant, function, """{"mode":"echo"}""");
        var theirs = await Router.InvokeAsync(other, function, """{"mode":"echo"}""");

        Assert.True(mine.AskedForPackage);
        Assert.True(theirs.AskedForPackage);
        Assert.False(theirs.Completion.Warm);
    }

    [Fact]
    public async Task WithoutABackend_InvocationsAreSandboxUnavailable_SayingWhatToInstall()
    {
        // TestVault's worker runs no functions.
        using var vault = new TestVault();
        var tenant = await vault.CreateTenantAsync();
        var request = new InvokeFunctionRequest("inv-1", Python.Ref, "{}", 1, Python.Package) { TenantId = tenant };

        var completed = await vault.Client.SendAsync<InvocationCompletedResponse>(request, CancellationToken.None);

        Assert.Equal(FunctionErrorCodes.SandboxUnavailable, completed.Error!.Code);
        Assert.Contains("bubblewrap", completed.Error.Detail, StringComparison.Ordinal);
        Assert.NotNull(completed.Stored);
    }

    [Fact]
    public async Task MutatedInvokeAndContinueFrames_AlwaysGetAResponse_NeverAnInternalError()
    {
        var tenant = await Router.CreateTenantAsync();
        await LoadKeysAsync(tenant);
        var function = FreshPython();
        EnclaveRequest[] seeds =
        [
            new InvokeFunctionRequest("inv-fuzz", function.Ref, """{"mode":"echo","n":[1,{"k":"v"}]}""", 1, function.Package) { TenantId = tenant },
            new ContinueInvocationRequest("inv-fuzz", 1, Found: [new StoredTokenRecord("tok_x", "random", null, "card", 1, [1, 2, 3])]) { TenantId = tenant },
            new RetireFunctionRequest(function.Name, [function.Measurement]) { TenantId = tenant },
        ];
        var random = new Random(20261122);

        foreach (var seed in seeds)
        {
            var frame = Frames.Enclave.Encode(seed);
            for (var i = 0; i < 150; i++)
            {
                var response = Frames.Enclave.DecodeResponse(await Router.Transport.SendAsync(FrameHandlingTests.Mutate(frame, random), CancellationToken.None));

                var error = response switch
                {
                    EnclaveErrorResponse failed => failed.Error,
                    InvocationCompletedResponse completed => completed.Error,
                    _ => null,
                };
                Assert.NotNull(response);
                Assert.NotEqual(EnclaveErrorCodes.Internal, error?.Code);
            }
        }
    }

    [Fact]
    public void PackageDirectory_InsideTheDataDirectory_IsRefused()
    {
        var options = new EnclaveFunctionOptions { PackageDirectory = "/var/lib/cloister/packages", DataDirectory = "/var/lib/cloister" };

        Assert.Throws<ArgumentException>(options.Validate);
    }

    /// <summary>A tokenize through the router's client loads the tenant's keys into the enclave.</summary>
    private Task<string> LoadKeysAsync(string tenant) => Router.TokenizeAsync(tenant, "warm-up", "generic");

    /// <summary>Sends the invoke (with keys and package when asked) until the invocation waits on its first step.</summary>
    private async Task<InvocationPendingResponse> StartUntilPendingAsync(string tenant, TestFunction function, string args)
    {
        var request = new InvokeFunctionRequest("inv-" + Guid.NewGuid().ToString("N"), function.Ref, args, 1, function.Package) { TenantId = tenant };
        var response = await Router.SendAsync(request);
        if (response is KeysRequiredResponse)
        {
            await LoadKeysAsync(tenant);
            response = await Router.SendAsync(request);
        }

        return Assert.IsType<InvocationPendingResponse>(response);
    }
}
