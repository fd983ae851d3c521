using System.Text;
using Cloister.Protocol;

namespace Cloister.KeyBroker.Tests;

/// <summary>A canary key goes through every release and refusal path; its bytes appear nowhere but inside the sealed box.</summary>
public sealed class KeyLeakTests : IDisposable
{
    private static readonly byte[] Canary = "CANARY-KEY-0123456789abcdefghijk"u8.ToArray();

    private readonly BrokerHarness _broker = new();

    public void Dispose() => _broker.Dispose();

    [Fact]
    public async Task CanaryKey_IsInNoErrorAuditLineOrClearFrame()
    {
        Assert.Equal(32, Canary.Length);
        var wrapped = new WrappedKey(KeyPurpose.Data, 1, await _broker.MasterKey.WrapAsync(Canary, KeyWrapContext.Create("acme", KeyPurpose.Data, 1), CancellationToken.None));
        var globexKey = new WrappedKey(KeyPurpose.Data, 1, await _broker.MasterKey.WrapAsync(Canary, KeyWrapContext.Create("globex", KeyPurpose.Data, 1), CancellationToken.None));
        var session = await _broker.SessionAsync();

        // Released: the canary comes out of the sealed box, and only there.
        var released = await _broker.UnwrapAsync(session, "acme", [wrapped]);
        Assert.Equal(Canary, Assert.Single(_broker.Open(released, "acme", session)).Key);
        var sealedFrame = _broker.ResponseFrames[^1];

        // Refused in every way an unwrap can be.
        await _broker.UnwrapAsync(session, "acme", [wrapped, wrapped with { Version = 2 }]);
        await _broker.UnwrapAsync("no-such-session", "acme", [wrapped]);
        _broker.WritePolicy(_broker.Policy(tenants: ["acme"]));
        await _broker.UnwrapAsync(session, "globex", [globexKey]);
        var nonce = await _broker.ChallengeAsync();
        var claims = _broker.Claims(nonce);
        await _broker.AttestAsync(nonce, claims, _broker.Evidence(claims, debug: true));
        _broker.Clock.Advance(TimeSpan.FromHours(1));
        await _broker.UnwrapAsync(session, "acme", [wrapped]);

        Assert.True(_broker.AuditLines().Count >= 5);
        var audit = File.ReadAllBytes(Path.Combine(_broker.Directory, "keybroker-audit.jsonl"));
        foreach (var text in new[] { audit }.Concat(_broker.ResponseFrames))
        {
            AssertNoCanary(text);
        }

        Assert.Contains(_broker.ResponseFrames, frame => frame == sealedFrame);
    }

    private static void AssertNoCanary(byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes);
        Assert.DoesNotContain("CANARY-KEY", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Canary)[..20], text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(Canary)[..20], text, StringComparison.OrdinalIgnoreCase);
    }
}
