using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Enclave.Functions;
using Cloister.Functions;
using Cloister.Protocol;

namespace Cloister.Enclave.Tests.Functions;

/// <summary>The output policy applied directly to results (no sandbox): tokenizeOutput rewrites, the plaintext check, and its memory.</summary>
[Collection(nameof(AllocationMeasuringCollection))]
public sealed class OutputPolicyTests : IDisposable
{
    private const string Tenant = "t";
    private const string Card = "4111111111111111";

    private readonly Keyring _keyring = new();

    public OutputPolicyTests()
    {
        _keyring.Add(Tenant, [
            new UnwrappedKey(KeyPurpose.Data, 1, RandomNumberGenerator.GetBytes(Keyring.KeySize)),
            new UnwrappedKey(KeyPurpose.Fpe, 1, RandomNumberGenerator.GetBytes(Keyring.KeySize)),
            new UnwrappedKey(KeyPurpose.Fingerprint, 1, RandomNumberGenerator.GetBytes(Keyring.KeySize)),
        ]);
    }

    public void Dispose() => _keyring.Dispose();

    [Fact]
    public async Task TokenizeOutput_ReplacesOnlyTheTargetedFields_ByteForByte()
    {
        var result = """{"a":{"b":"secret-value","c":[1,2,{"b":"x"}]},"n":12345,"s":"caf\u00e9 <tag>","e":null}""";
        var permissions = Permissions(Rule("a.b"), Rule("n"));

        var (json, error, issued) = await ApplyAsync(result, permissions, Secrets());

        Assert.Null(error);
        Assert.Equal(2, issued.Count);
        Assert.Equal(
            $$"""{"a":{"b":"{{issued[0]}}","c":[1,2,{"b":"x"}]},"n":"{{issued[1]}}","s":"caf\u00e9 <tag>","e":null}""",
            json);
    }

    [Fact]
    public async Task TokenizeOutput_KeepsEveryOtherByteOfTheFunctionsJson()
    {
        var (json, error, issued) = await ApplyAsync("""{ "a" : { "b" : 12.50 } ,"\u0062":"\u00e9\/" }""", Permissions(Rule("a.b")), Secrets());

        Assert.Null(error);
        Assert.Equal($$"""{ "a" : { "b" : "{{Assert.Single(issued)}}" } ,"\u0062":"\u00e9\/" }""", json);
    }

    [Fact]
    public async Task TokenizeOutput_ReplacesARepeatedName_AtEveryOccurrence()
    {
        var (json, error, issued) = await ApplyAsync("""{"o":{"card":"first-value","card":"second-value"},"card":"kept"}""", Permissions(Rule("o.card")), Secrets());

        Assert.Null(error);
        var token = Assert.Single(issued);
        Assert.Equal($$"""{"o":{"card":"{{token}}","card":"{{token}}"},"card":"kept"}""", json);
    }

    [Theory]
    [InlineData("""{"a":[{"b":"v"}]}""", "a.0.b")]
    [InlineData("""{"a":{"b":""}}""", "a.b")]
    [InlineData("""{"a":{"b":true}}""", "a.b")]
    [InlineData("""{"a":{"b":{"c":"v"}}}""", "a.b")]
    [InlineData("""{"a":{"c":"v"}}""", "a.b")]
    [InlineData("""["v"]""", "a")]
    public async Task TokenizeOutput_WithoutANonEmptyStringOrNumberAtTheObjectPath_Fails(string result, string field)
    {
        var (json, error, issued) = await ApplyAsync(result, Permissions(Rule(field)), Secrets());

        Assert.Null(json);
        Assert.Empty(issued);
        Assert.Equal(FunctionErrorCodes.TokenizeOutputFailed, error!.Code);
        Assert.Equal($"The result has no string or number at '{field}' to tokenize.", error.Detail);
    }

    [Theory]
    [InlineData("""{"x":"\u0034111111111111111"}""")]
    [InlineData("""{"x":["card\/x: 4111\u003111111111111"]}""")]
    [InlineData("""{"\u00341111111111111111":1}""")]
    [InlineData("""{"a":{"k\u0020411111111111\u00311111":null}}""")]
    [InlineData("""{"n":4111111111111111}""")]
    [InlineData("""[0,[41111111111111110000e2]]""")]
    [InlineData("\"4111111111111111\"")]
    public async Task RevealedValue_IsRefused_HoweverItIsEscaped_InValuesNamesAndNumbers(string result)
    {
        var (json, error, _) = await ApplyAsync(result, Permissions(), Secrets());

        Assert.Null(json);
        Assert.Equal(FunctionErrorCodes.PlaintextInOutput, error!.Code);
        Assert.StartsWith("The result contains a value revealed into the function's sandbox", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevealedValue_IsRefused_AfterTokenizeOutput_UnlessItWasTheTokenizedField()
    {
        var tokenized = await ApplyAsync($$"""{"card":"{{Card}}"}""", Permissions(Rule("card")), Secrets());
        var leaked = await ApplyAsync($$"""{"card":"{{Card}}","copy":"{{Card}}"}""", Permissions(Rule("card")), Secrets());
        var allowed = await ApplyAsync($$"""{"copy":"{{Card}}"}""", Permissions(returnPlaintext: true), Secrets());

        Assert.Null(tokenized.Error);
        Assert.Equal($$"""{"card":"{{Assert.Single(tokenized.Issued)}}"}""", tokenized.Json);
        Assert.Equal(FunctionErrorCodes.PlaintextInOutput, leaked.Error!.Code);
        Assert.Equal($$"""{"copy":"{{Card}}"}""", allowed.Json);
    }

    [Fact]
    public async Task WithoutRules_TheResultLeavesAsItsOwnJson()
    {
        var (json, error, _) = await ApplyAsync("""{"last4":"1111","n":[1.50,-0,2e3],"s":"x\"y"}""", Permissions(), Secrets());

        Assert.Null(error);
        Assert.Equal("""{"last4":"1111","n":[1.50,-0,2e3],"s":"x\"y"}""", json);
    }

    [Fact]
    public async Task LargeResultOfTinyElements_IsCheckedAndTokenized_InASmallMultipleOfItsSize()
    {
        // ~3 million elements in ~6 MB: a JsonNode tree of it allocated ~50× its size (H1); the walk and one write stay near 2-3×.
        const int Elements = 3_000_000;
        var builder = new StringBuilder(Elements * 2 + 64).Append("""{"acct":"9876543210","items":[""");
        for (var i = 0; i < Elements; i++)
        {
            builder.Append(i == 0 ? "0" : ",0");
        }

        var result = builder.Append("]}").ToString();
        using var document = JsonDocument.Parse(result);
        var rawBytes = Encoding.UTF8.GetByteCount(result);
        var secrets = Secrets();

        // The process's allocations are counted (the tokenizing path continues on other threads): the least of three runs,
        // alone in the assembly, leaves out what background work allocated meanwhile.
        long checkedOnly = long.MaxValue, tokenized = long.MaxValue;
        for (var run = 0; run < 3; run++)
        {
            checkedOnly = Math.Min(checkedOnly, await MeasureAsync(document.RootElement, Permissions(), secrets));
            tokenized = Math.Min(tokenized, await MeasureAsync(document.RootElement, Permissions(Rule("acct")), secrets));
        }

        Assert.True(
            checkedOnly < 4L * rawBytes && tokenized < 4L * rawBytes,
            $"A {rawBytes}-byte result: checking it allocated {checkedOnly} bytes, tokenizing a field of it {tokenized}.");
    }

    private async Task<long> MeasureAsync(JsonElement result, FunctionPermissions permissions, InvocationSecrets secrets)
    {
        var (records, answering, stop) = Records(permissions, []);
        try
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var (json, error) = await OutputPolicy.ApplyAsync(result, permissions, records, secrets, CancellationToken.None);
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.Null(error);
            Assert.NotNull(json);
            return allocated;
        }
        finally
        {
            await stop.CancelAsync();
            await answering;
            stop.Dispose();
        }
    }

    private async Task<(string? Json, EnclaveError? Error, List<string> Issued)> ApplyAsync(string result, FunctionPermissions permissions, InvocationSecrets secrets)
    {
        using var document = JsonDocument.Parse(result);
        var issued = new List<string>();
        var (records, answering, stop) = Records(permissions, issued);
        try
        {
            var (json, error) = await OutputPolicy.ApplyAsync(document.RootElement, permissions, records, secrets, CancellationToken.None);
            return (json, error, issued);
        }
        finally
        {
            await stop.CancelAsync();
            await answering;
            stop.Dispose();
        }
    }

    /// <summary>Token records whose store steps a background loop answers as the router would (every token free), noting the tokens.</summary>
    private (TokenRecords Records, Task Answering, CancellationTokenSource Stop) Records(FunctionPermissions permissions, List<string> issued)
    {
        var steps = new RouterSteps("inv", TimeSpan.FromSeconds(30), TimeProvider.System);
        var stop = new CancellationTokenSource();
        var answering = Task.Run(async () =>
        {
            try
            {
                while (await steps.NextEventAsync(stop.Token) is InvocationPendingResponse { StoreTokens: { } store } pending)
                {
                    issued.AddRange(store.Select(record => record.Token));
                    Assert.Null(steps.Answer(new ContinueInvocationRequest("inv", pending.Step, Stored: [.. store.Select(_ => true)]) { TenantId = Tenant }));
                }
            }
            catch (OperationCanceledException)
            {
                // The policy finished; no step is pending.
            }
        });
        return (new TokenRecords(new TokenOperations(_keyring), Tenant, 1, permissions, steps), answering, stop);
    }

    private static InvocationSecrets Secrets()
    {
        var secrets = new InvocationSecrets();
        secrets.AddRevealed("tok_card", Card);
        return secrets;
    }

    private static TokenizeOutputRule Rule(string field) => new(field, TokenizeFormat.Random, "generic");

    private static FunctionPermissions Permissions(params TokenizeOutputRule[] rules) => new(["card"], false, rules);

    private static FunctionPermissions Permissions(bool returnPlaintext) => new(["card"], returnPlaintext, []);
}

/// <summary>Tests that count the process's allocations run alone: another test allocating meanwhile would be counted too.</summary>
[CollectionDefinition(nameof(AllocationMeasuringCollection), DisableParallelization = true)]
public sealed class AllocationMeasuringCollection;
