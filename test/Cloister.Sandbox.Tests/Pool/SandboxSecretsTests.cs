using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Tests.Runner;
using static Cloister.Sandbox.Tests.Pool.PoolHarness;

namespace Cloister.Sandbox.Tests.Pool;

/// <summary>What a sandbox has received: found in results and redacted wherever it is, bounded, and gone with the sandbox.</summary>
public sealed class SandboxSecretsTests
{
    [Fact]
    public void RevealedValues_AreFoundAnywhereInAText_FromFourCharactersOn_TokenizedOnesOnlyRedacted()
    {
        var secrets = new SandboxSecrets();
        secrets.AddRevealed("tok_1", "4111111111111111");
        secrets.AddRevealed("tok_2", "abc");
        secrets.AddRevealed("tok_3", "4111111111111112");
        secrets.AddTokenized("tokenized-secret");

        Assert.True(secrets.ContainsRevealed("card=4111111111111112;"));
        Assert.True(secrets.ContainsRevealed("4111111111111111"));
        Assert.False(secrets.ContainsRevealed("411111111111111"));
        Assert.False(secrets.ContainsRevealed("abc abc"));
        Assert.False(secrets.ContainsRevealed("tokenized-secret"));
        Assert.Equal("[redacted] [redacted] [redacted], 111", secrets.Redact("4111111111111111 abc tokenized-secret, 111"));
        Assert.Equal(["tok_1", "tok_2", "tok_3"], secrets.RevealedTokens);
    }

    [Fact]
    public void Redaction_ReplacesTheLongestValueFirst()
    {
        var secrets = new SandboxSecrets();
        secrets.AddRevealed("tok_short", "1234");
        secrets.AddRevealed("tok_long", "12345678");

        Assert.Equal("[redacted] and [redacted]", secrets.Redact("12345678 and 1234"));
    }

    [Fact]
    public void ManyValues_AreAllFound()
    {
        var secrets = new SandboxSecrets();
        for (var i = 0; i < 1000; i++)
        {
            secrets.AddRevealed($"tok_{i}", $"value-{i:D4}-end");
        }

        Assert.True(secrets.ContainsRevealed(new string('x', 100_000) + "value-0999-end"));
        Assert.True(secrets.ContainsRevealed("value-0000-end"));
        Assert.False(secrets.ContainsRevealed("value-1000-end" + new string('v', 100_000)));
    }

    [Fact]
    public void IsFull_PastItsValueOrCharacterBound()
    {
        var byCount = new SandboxSecrets(maxValues: 2, maxChars: 1000);
        var byChars = new SandboxSecrets(maxValues: 100, maxChars: 10);
        byCount.AddRevealed("tok_1", "one");
        byCount.AddRevealed("tok_1", "one");
        byCount.AddTokenized("two");
        byChars.AddRevealed("tok_1", "0123456789");

        Assert.False(byCount.IsFull);
        Assert.False(byChars.IsFull);

        byCount.AddTokenized("three");
        byChars.AddTokenized("x");

        Assert.True(byCount.IsFull);
        Assert.True(byChars.IsFull);
    }

    [Fact]
    public void AddFrom_CopiesValuesAndTokens_AndClear_ForgetsEverything()
    {
        var invocation = new SandboxSecrets();
        var sandbox = new SandboxSecrets();
        invocation.AddRevealed("tok_1", "4111111111111111");
        invocation.AddTokenized("tokenized-secret");
        sandbox.AddRevealed("tok_0", "5500000000000004");

        sandbox.AddFrom(invocation);
        invocation.Clear();

        Assert.Equal(["tok_0", "tok_1"], sandbox.RevealedTokens);
        Assert.True(sandbox.ContainsRevealed("4111111111111111"));
        Assert.Equal("[redacted]", sandbox.Redact("tokenized-secret"));
        Assert.False(invocation.ContainsRevealed("4111111111111111"));
        Assert.Empty(invocation.RevealedTokens);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ASandboxThatReceivedTooMuch_IsNotReused_AndItsValuesGoWithIt(string backend)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = fixture.Define(new FunctionKey("tenant-a", "fn@secrets"), FunctionRuntimes.Python3, "handler.py", PythonTmpProbe);

        SandboxedFunction first;
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            first = lease.Sandbox;
            Assert.True((await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None)).IsSuccess);
            for (var i = 0; i <= SandboxSecrets.DefaultMaxValues; i++)
            {
                first.Secrets.AddRevealed($"tok_{i}", $"value-{i:D5}");
            }

            Assert.False(first.IsReusable);
        }

        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            Assert.False(lease.WasWarm);
            Assert.NotSame(first, lease.Sandbox);
            Assert.Empty(lease.Sandbox.Secrets.RevealedTokens);
        }

        Assert.Empty(first.Secrets.RevealedTokens);
        Assert.False(first.Secrets.ContainsRevealed("value-00001"));
    }
}
