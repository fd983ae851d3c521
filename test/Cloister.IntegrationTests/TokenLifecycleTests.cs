using System.Text.Json;
using Cloister.IntegrationTests.Support;
using Cloister.Server;

namespace Cloister.IntegrationTests;

/// <summary>Every format end to end: create, metadata, reveal, delete; shapes, determinism, search, expiry, batches.</summary>
public sealed class TokenLifecycleTests(ServerFixture fixture, FakeClockServerFixture clocked) : IClassFixture<ServerFixture>, IClassFixture<FakeClockServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    /// <summary>A server whose router runs on a fake clock, for expiry: the tests move the clock instead of sleeping.</summary>
    private readonly TestServer _clocked = clocked.Server;

    public static TheoryData<string, string?, string> EveryFormat => new()
    {
        { "random", null, "a secret with spaces, ünïcödé and \"quotes\"" },
        { "numeric", null, "123456789012" },
        { "pan", null, "4111111111111111" },
        { "pan-last4", null, "5555555555554444" },
        { "ssn-last4", null, "123-45-6789" },
        { "fpe", "digits", "4111-1111-1111-1111" },
        { "fpe", "lower-alnum", "alice.smith-42" },
        { "fpe", "alnum", "AbC-123 xYz" },
    };

    [Theory]
    [MemberData(nameof(EveryFormat))]
    public async Task Token_CreateGetRevealDelete_RoundTripsAndThenAnswers404(string format, string? alphabet, string value)
    {
        var tenant = await _server.CreateTenantAsync();

        var created = await _server.CreateOkAsync(tenant.Key, new { value, format, alphabet });
        Assert.Equal("application/json", created.MediaType);
        var token = created.Text("token");
        Assert.NotEqual(value, token);
        Assert.Equal(format, created.Text("format"));
        Assert.Equal(format == "fpe" ? alphabet : null, created.Json.GetProperty("alphabet").GetString());
        Assert.Equal("generic", created.Text("classifier"));
        Assert.Equal(JsonValueKind.Null, created.Json.GetProperty("expiresAt").ValueKind);
        Assert.True(created.Json.GetProperty("createdAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
        var mask = created.Text("mask");
        ProblemAssert.DoesNotContain(created, value);

        var info = (await _server.GetAsync(tenant.Key, token)).Expect(200);
        Assert.Equal(token, info.Text("token"));
        Assert.Equal(format, info.Text("format"));
        Assert.Equal(mask, info.Text("mask"));
        Assert.Equal(1, info.Json.GetProperty("keyVersion").GetInt32());
        ProblemAssert.DoesNotContain(info, value);

        Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, token));

        var deleted = await _server.DeleteAsync(tenant.Key, token);
        Assert.Equal(204, deleted.StatusCode);
        Assert.Equal("", deleted.Body);

        ProblemAssert.Is(await _server.GetAsync(tenant.Key, token), 404, "token-not-found");
        ProblemAssert.Is(await _server.RevealAsync(tenant.Key, token), 404, "token-not-found");
        ProblemAssert.Is(await _server.DeleteAsync(tenant.Key, token), 404, "token-not-found");
    }

    [Fact]
    public async Task Create_Returns201WithLocationOfTheToken()
    {
        var created = await _server.CreateOkAsync(_server.DefaultTenant.Key, new { value = "located" });
        Assert.Contains("Location: /v1/tokens/" + Uri.EscapeDataString(created.Text("token")), created.Headers, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_RandomFormat_IsTokPrefixAnd22Base58CharactersAndMasksEverything()
    {
        var tenant = await _server.CreateTenantAsync();
        var tokens = new HashSet<string>();
        for (var i = 0; i < 20; i++)
        {
            var created = await _server.CreateOkAsync(tenant.Key, new { value = "same value" });
            var token = created.Text("token");
            Assert.Matches(Values.RandomToken(), token);
            Assert.DoesNotContain("same", created.Text("mask"), StringComparison.Ordinal);
            tokens.Add(token);
        }

        Assert.Equal(20, tokens.Count);
    }

    [Fact]
    public async Task Create_WithoutFormat_DefaultsToRandom()
    {
        var created = await _server.CreateOkAsync(_server.DefaultTenant.Key, new { value = "defaulted" });
        Assert.Equal("random", created.Text("format"));
        Assert.Matches(Values.RandomToken(), created.Text("token"));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0123456789")]
    [InlineData("99999999999999999999999999999999")]
    public async Task Create_NumericFormat_IsRandomDigitsOfTheValuesLength(string value)
    {
        var tenant = await _server.CreateTenantAsync();
        var token = await _server.CreateTokenAsync(tenant.Key, new { value, format = "numeric" });
        Assert.Matches("^[0-9]+$", token);
        Assert.Equal(value.Length, token.Length);
        Assert.NotEqual(value, token);
    }

    [Theory]
    [InlineData("4222222222222")]
    [InlineData("378282246310005")]
    [InlineData("4111111111111111")]
    [InlineData("6011000990139424")]
    [InlineData("6011000000000000001")]
    public async Task Create_PanFormat_KeepsFirst6AndLast4AndIsLuhnValid(string value)
    {
        Assert.True(Values.IsLuhnValid(value), "test data must be Luhn-valid");
        var tenant = await _server.CreateTenantAsync();
        for (var i = 0; i < 5; i++)
        {
            var created = await _server.CreateOkAsync(tenant.Key, new { value, format = "pan" });
            var token = created.Text("token");
            Assert.Equal(value.Length, token.Length);
            Assert.Matches("^[0-9]+$", token);
            Assert.StartsWith(value[..6], token, StringComparison.Ordinal);
            Assert.EndsWith(value[^4..], token, StringComparison.Ordinal);
            Assert.True(Values.IsLuhnValid(token), $"{token} fails the Luhn check");
            Assert.NotEqual(value, token);
            Assert.Equal(value[..6] + new string('*', value.Length - 10) + value[^4..], created.Text("mask"));
        }
    }

    [Theory]
    [InlineData("4111111111111111")]
    [InlineData("378282246310005")]
    public async Task Create_PanLast4Format_KeepsLast4AndIsLuhnValid(string value)
    {
        var tenant = await _server.CreateTenantAsync();
        for (var i = 0; i < 5; i++)
        {
            var token = await _server.CreateTokenAsync(tenant.Key, new { value, format = "pan-last4" });
            Assert.Equal(value.Length, token.Length);
            Assert.Matches("^[0-9]+$", token);
            Assert.EndsWith(value[^4..], token, StringComparison.Ordinal);
            Assert.True(Values.IsLuhnValid(token), $"{token} fails the Luhn check");
            Assert.NotEqual(value, token);
        }
    }

    [Theory]
    [InlineData("123-45-6789")]
    [InlineData("123456789")]
    public async Task Create_SsnLast4Format_HasSsnShapeEndingInTheLast4(string value)
    {
        var tenant = await _server.CreateTenantAsync();
        var created = await _server.CreateOkAsync(tenant.Key, new { value, format = "ssn-last4" });
        Assert.Matches("^[0-9]{3}-[0-9]{2}-6789$", created.Text("token"));
        Assert.NotEqual("123-45-6789", created.Text("token"));
        Assert.Equal("***-**-6789", created.Text("mask"));
    }

    [Theory]
    [InlineData("digits", "0123456789", "4111-1111-1111-1111")]
    [InlineData("digits", "0123456789", "(555) 123 4567")]
    [InlineData("lower-alnum", "0123456789abcdefghijklmnopqrstuvwxyz", "alice.smith-42 x")]
    [InlineData("alnum", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "Hello World (42)")]
    public async Task Create_FpeFormat_StaysInTheAlphabetAndKeepsOtherCharactersInPlace(string alphabet, string characters, string value)
    {
        var tenant = await _server.CreateTenantAsync();
        var created = await _server.CreateOkAsync(tenant.Key, new { value, format = "fpe", alphabet });
        var token = created.Text("token");
        Assert.Equal(value.Length, token.Length);
        Assert.NotEqual(value, token);
        for (var i = 0; i < value.Length; i++)
        {
            if (characters.Contains(value[i], StringComparison.Ordinal))
            {
                Assert.Contains(token[i], characters);
            }
            else
            {
                Assert.Equal(value[i], token[i]);
            }
        }

        Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, token));
    }

    [Fact]
    public async Task Create_FpeWithoutAlphabet_DefaultsToDigits()
    {
        var created = await _server.CreateOkAsync(_server.DefaultTenant.Key, new { value = "1234567890", format = "fpe" });
        Assert.Equal("digits", created.Text("alphabet"));
        Assert.Matches("^[0-9]{10}$", created.Text("token"));
    }

    [Theory]
    [InlineData("fpe", "123456")]
    [InlineData("fpe", "1234-56")]
    public async Task Create_FpeAtTheMinimumDomain_IsAccepted(string format, string value)
    {
        var token = await _server.CreateTokenAsync(_server.DefaultTenant.Key, new { value, format });
        Assert.Equal(value, await _server.RevealValueAsync(_server.DefaultTenant.Key, token));
    }

    [Theory]
    [InlineData("random", "deterministic random value")]
    [InlineData("numeric", "31415926535897")]
    [InlineData("pan", "4111111111111111")]
    [InlineData("pan-last4", "4111111111111111")]
    [InlineData("ssn-last4", "078-05-1120")]
    public async Task Create_Deterministic_SameTokenWithinATenant_DifferentInAnother(string format, string value)
    {
        var a = await _server.CreateTenantAsync();
        var b = await _server.CreateTenantAsync();

        var first = await _server.CreateTokenAsync(a.Key, new { value, format, deterministic = true });
        var second = await _server.CreateTokenAsync(a.Key, new { value, format, deterministic = true });
        var other = await _server.CreateTokenAsync(b.Key, new { value, format, deterministic = true });

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
        Assert.True((await _server.GetAsync(a.Key, first)).Expect(200).Json.GetProperty("deterministic").GetBoolean());
        Assert.Equal(value, await _server.RevealValueAsync(a.Key, first));
        Assert.Equal(value, await _server.RevealValueAsync(b.Key, other));
    }

    [Fact]
    public async Task Create_Fpe_IsAlwaysDeterministicWithinATenant_AndDiffersAcrossTenants()
    {
        var a = await _server.CreateTenantAsync();
        var b = await _server.CreateTenantAsync();
        const string value = "4111-1111-1111-1111";

        var first = await _server.CreateTokenAsync(a.Key, new { value, format = "fpe" });
        var second = await _server.CreateTokenAsync(a.Key, new { value, format = "fpe", deterministic = false });
        var other = await _server.CreateTokenAsync(b.Key, new { value, format = "fpe" });

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Theory]
    [InlineData("random", "non-deterministic value")]
    [InlineData("numeric", "31415926535897")]
    [InlineData("pan", "4111111111111111")]
    [InlineData("ssn-last4", "078-05-1120")]
    public async Task Create_NotDeterministic_GivesANewTokenEachTime(string format, string value)
    {
        var tenant = await _server.CreateTenantAsync();
        var first = await _server.CreateTokenAsync(tenant.Key, new { value, format });
        var second = await _server.CreateTokenAsync(tenant.Key, new { value, format, deterministic = false });
        Assert.NotEqual(first, second);
        Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, first));
        Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, second));
    }

    [Fact]
    public async Task Create_Deterministic_DifferentClassifierOrFormat_GivesDifferentTokens()
    {
        var tenant = await _server.CreateTenantAsync();
        const string value = "4111111111111111";
        var card = await _server.CreateTokenAsync(tenant.Key, new { value, format = "pan", deterministic = true, classifier = "card" });
        var other = await _server.CreateTokenAsync(tenant.Key, new { value, format = "pan", deterministic = true, classifier = "other" });
        var random = await _server.CreateTokenAsync(tenant.Key, new { value, deterministic = true, classifier = "card" });
        Assert.NotEqual(card, other);
        Assert.Matches(Values.RandomToken(), random);
    }

    [Fact]
    public async Task Create_WithClassifierAndMetadata_GetReturnsThem()
    {
        var tenant = await _server.CreateTenantAsync();
        var created = await _server.CreateOkAsync(tenant.Key, new { value = "4111111111111111", format = "pan", classifier = "card.primary", metadata = new { customer = "c-17", tier = 3 } });
        Assert.Equal("card.primary", created.Text("classifier"));

        var info = (await _server.GetAsync(tenant.Key, created.Text("token"))).Expect(200).Json;
        Assert.Equal("card.primary", info.GetProperty("classifier").GetString());
        Assert.Equal("c-17", info.GetProperty("metadata").GetProperty("customer").GetString());
        Assert.Equal(3, info.GetProperty("metadata").GetProperty("tier").GetInt32());
        Assert.Equal("411111******1111", info.GetProperty("mask").GetString());
        Assert.False(info.GetProperty("deterministic").GetBoolean());
    }

    [Fact]
    public async Task Search_FindsTheTenantsTokensForAValue_AndNotAnotherTenants()
    {
        var a = await _server.CreateTenantAsync();
        var b = await _server.CreateTenantAsync();
        var value = Values.Card();

        var mine = new[]
        {
            await _server.CreateTokenAsync(a.Key, new { value }),
            await _server.CreateTokenAsync(a.Key, new { value, format = "pan" }),
            await _server.CreateTokenAsync(a.Key, new { value, format = "numeric", deterministic = true }),
            await _server.CreateTokenAsync(a.Key, new { value, format = "fpe" }),
        };
        var theirs = await _server.CreateTokenAsync(b.Key, new { value });
        await _server.CreateTokenAsync(a.Key, new { value = Values.Card() });

        var search = (await _server.SearchAsync(a.Key, value)).Expect(200);
        var found = search.Json.GetProperty("tokens").EnumerateArray().Select(t => t.GetProperty("token").GetString()!).ToList();
        Assert.Equal(mine.Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(theirs, found);
        ProblemAssert.DoesNotContain(search, value);

        Assert.Equal([theirs], await _server.SearchTokensAsync(b.Key, value));
        Assert.Empty(await _server.SearchTokensAsync(a.Key, Values.Card()));

        (await _server.DeleteAsync(a.Key, mine[0])).Expect(204);
        Assert.DoesNotContain(mine[0], await _server.SearchTokensAsync(a.Key, value));
    }

    [Fact]
    public async Task Expired_Token_AnswersExactlyLikeOneThatNeverExisted()
    {
        var tenant = await _clocked.CreateTenantAsync();
        var value = Values.Unique("expiring");
        var created = await _clocked.CreateOkAsync(tenant.Key, new { value, ttlSeconds = 1 });
        var token = created.Text("token");
        var lifetime = created.Json.GetProperty("expiresAt").GetDateTimeOffset() - created.Json.GetProperty("createdAt").GetDateTimeOffset();
        Assert.Equal(TimeSpan.FromSeconds(1), lifetime);
        var neverExisted = "tok_" + new string('1', 22);
        Assert.Equal(value, await _clocked.RevealValueAsync(tenant.Key, token));

        clocked.Clock.Advance(TimeSpan.FromSeconds(1));

        foreach (var route in new Func<string, Task<ApiResponse>>[]
        {
            t => _clocked.GetAsync(tenant.Key, t),
            t => _clocked.RevealAsync(tenant.Key, t),
            t => _clocked.DeleteAsync(tenant.Key, t),
        })
        {
            var expired = await route(token);
            var unknown = await route(neverExisted);
            ProblemAssert.Is(expired, 404, "token-not-found");
            Assert.Equal(unknown.MediaType, expired.MediaType);
            Assert.Equal(unknown.BodyWithoutTraceId(), expired.BodyWithoutTraceId());
        }

        Assert.Empty(await _clocked.SearchTokensAsync(tenant.Key, value));
    }

    [Fact]
    public async Task Expired_DeterministicToken_IsReplacedByANewTokenOnTheNextCreate()
    {
        var tenant = await _clocked.CreateTenantAsync();
        var value = Values.Unique("det-expiring");
        var first = await _clocked.CreateTokenAsync(tenant.Key, new { value, deterministic = true, ttlSeconds = 1 });
        Assert.Equal(first, await _clocked.CreateTokenAsync(tenant.Key, new { value, deterministic = true }));

        clocked.Clock.Advance(TimeSpan.FromSeconds(1));

        var second = await _clocked.CreateTokenAsync(tenant.Key, new { value, deterministic = true });
        Assert.NotEqual(first, second);
        Assert.Equal(value, await _clocked.RevealValueAsync(tenant.Key, second));
        ProblemAssert.Is(await _clocked.RevealAsync(tenant.Key, first), 404, "token-not-found");
        Assert.Equal([second], await _clocked.SearchTokensAsync(tenant.Key, value));
    }

    [Fact]
    public async Task Expired_Token_IsPurgedFromTheStoreOnAccess()
    {
        var tenant = await _clocked.CreateTenantAsync();
        var token = await _clocked.CreateTokenAsync(tenant.Key, new { value = "short-lived", ttlSeconds = 1 });
        Assert.Equal(1L, CountTokenRows(_clocked, tenant.Id, token));

        clocked.Clock.Advance(TimeSpan.FromSeconds(1));
        ProblemAssert.Is(await _clocked.GetAsync(tenant.Key, token), 404, "token-not-found");

        Assert.Equal(0L, CountTokenRows(_clocked, tenant.Id, token));
    }

    [Fact]
    public async Task Expired_Tokens_ArePurgedInTheBackgroundWithoutBeingTouched()
    {
        var tenant = await _clocked.CreateTenantAsync();
        var expiring = await _clocked.CreateTokenAsync(tenant.Key, new { value = "purge me", ttlSeconds = 1 });
        var kept = await _clocked.CreateTokenAsync(tenant.Key, new { value = "keep me" });

        // One purge interval (the default, a minute): the purge timer fires, and its purge finds the token expired.
        // The purge runs on the purger's own task, so its result is polled for, with a generous bound.
        clocked.Clock.Advance(new ServerOptions().PurgeInterval);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (CountTokenRows(_clocked, tenant.Id, expiring) > 0 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(0L, CountTokenRows(_clocked, tenant.Id, expiring));
        Assert.Equal(1L, CountTokenRows(_clocked, tenant.Id, kept));
    }

    [Fact]
    public async Task Batch_AnswersInRequestOrder_AndEveryItemReveals()
    {
        var tenant = await _server.CreateTenantAsync();
        var items = new List<(string Value, string Format)>();
        var formats = new[] { "random", "numeric", "pan", "pan-last4", "ssn-last4", "fpe" };
        for (var i = 0; i < 30; i++)
        {
            var format = formats[i % formats.Length];
            var value = format switch
            {
                "pan" or "pan-last4" => Values.Card(),
                "ssn-last4" => Values.Ssn(),
                "numeric" or "fpe" => Values.Digits(12),
                _ => Values.Unique("batch"),
            };
            items.Add((value, format));
        }

        var batch = (await _server.BatchAsync(tenant.Key, items.Select(i => (object)new { value = i.Value, format = i.Format }))).Expect(200);
        var answered = batch.Json.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(items.Count, answered.Count);
        for (var i = 0; i < items.Count; i++)
        {
            Assert.Equal(items[i].Format, answered[i].GetProperty("format").GetString());
            var token = answered[i].GetProperty("token").GetString()!;
            Assert.Equal(items[i].Value, await _server.RevealValueAsync(tenant.Key, token));
        }

        foreach (var (value, _) in items)
        {
            ProblemAssert.DoesNotContain(batch, value);
        }
    }

    [Fact]
    public async Task Batch_OfExactly1000Items_IsAccepted()
    {
        var tenant = await _server.CreateTenantAsync();
        var batch = (await _server.BatchAsync(tenant.Key, Enumerable.Range(0, 1000).Select(i => (object)new { value = $"item-{i}" }))).Expect(200);
        var tokens = batch.Json.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("token").GetString()).ToList();
        Assert.Equal(1000, tokens.Distinct().Count());
        Assert.Equal("item-999", await _server.RevealValueAsync(tenant.Key, tokens[999]!));
    }

    [Fact]
    public async Task Batch_Of1001Items_IsBatchTooLarge()
    {
        var response = await _server.BatchAsync(_server.DefaultTenant.Key, Enumerable.Range(0, 1001).Select(i => (object)new { value = $"item-{i}" }));
        ProblemAssert.Is(response, 400, "batch-too-large");
    }

    [Theory]
    [InlineData("pan", "4111111111111112", "invalid-card-number")]
    [InlineData("bogus", "anything", "unknown-format")]
    [InlineData("random", null, "invalid-request")]
    public async Task Batch_WithOneInvalidItem_CreatesNothing(string badFormat, string? badValue, string code)
    {
        var tenant = await _server.CreateTenantAsync();
        var good = Values.Unique("all-or-nothing");
        var response = await _server.BatchAsync(tenant.Key, [new { value = good }, new { value = good, format = "numeric" }, new { value = badValue, format = badFormat }]);
        ProblemAssert.Is(response, 400, code);
        Assert.Empty(await _server.SearchTokensAsync(tenant.Key, good));
    }

    [Theory]
    [InlineData("random", true)]
    [InlineData("pan", true)]
    [InlineData("fpe", false)]
    public async Task Batch_SameValueTwice_Deterministic_GetsOneToken(string format, bool deterministic)
    {
        var tenant = await _server.CreateTenantAsync();
        var value = Values.Card();
        var batch = (await _server.BatchAsync(tenant.Key, [new { value, format, deterministic }, new { value = "other", format = "random", deterministic }, new { value, format, deterministic }])).Expect(200);
        var items = batch.Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("token").GetString()!).ToList();
        Assert.Equal(items[0], items[2]);
        Assert.NotEqual(items[0], items[1]);
        Assert.Equal([items[0]], (await _server.SearchTokensAsync(tenant.Key, value)).ToList());
        Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, items[0]));
    }

    [Fact]
    public async Task Fpe_SameValueAgain_ReturnsTheFirstToken_AndAnotherClassifierIsAConflict()
    {
        var tenant = await _server.CreateTenantAsync();
        var first = await _server.CreateOkAsync(tenant.Key, new { value = "4111-1111-1111-1111", format = "fpe", classifier = "card" });
        var again = await _server.CreateOkAsync(tenant.Key, new { value = "4111-1111-1111-1111", format = "fpe", classifier = "card" });
        Assert.Equal(first.Text("token"), again.Text("token"));
        ProblemAssert.Is(await _server.CreateAsync(tenant.Key, new { value = "4111-1111-1111-1111", format = "fpe", classifier = "other" }), 409, "token-conflict");
    }

    [Fact]
    public async Task Numeric_OneDigitValue_Has9TokensThenTokenSpaceExhausted()
    {
        var tenant = await _server.CreateTenantAsync();
        var tokens = new HashSet<string>();
        for (var i = 0; i < 9; i++)
        {
            var token = await _server.CreateTokenAsync(tenant.Key, new { value = "7", format = "numeric" });
            Assert.Matches("^[0-9]$", token);
            Assert.NotEqual("7", token);
            Assert.True(tokens.Add(token), $"token {token} was handed out twice");
        }

        ProblemAssert.Is(await _server.CreateAsync(tenant.Key, new { value = "7", format = "numeric" }), 409, "token-space-exhausted");

        foreach (var token in tokens)
        {
            Assert.Equal("7", await _server.RevealValueAsync(tenant.Key, token));
        }

        // Freeing one token makes room again.
        var freed = tokens.First();
        (await _server.DeleteAsync(tenant.Key, freed)).Expect(204);
        Assert.Equal(freed, await _server.CreateTokenAsync(tenant.Key, new { value = "7", format = "numeric" }));
    }

    private static long CountTokenRows(TestServer server, string tenantId, string token)
        => VaultDatabase.Scalar(server.DataDirectory, "SELECT count(*) FROM tokens WHERE tenant_id = $tenant AND token = $token", ("$tenant", tenantId), ("$token", token));
}
