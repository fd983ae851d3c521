using System.Text;
using Cloister.Api.Contracts;
using Cloister.Server.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Tests;

/// <summary>The request-body reader on untrusted bytes: every body is bound or refused with a problem, never an exception.</summary>
public sealed class JsonBodyTests
{
    private static readonly byte[] Seed = Encoding.UTF8.GetBytes(
        """{"items":[{"value":"x\u00e9","format":"fpe","alphabet":"digits","classifier":"pan","deterministic":true,"ttlSeconds":60,"metadata":{"a":[1,{"b":"c"}],"d":null}},{"value":"y"}]}""");

    private static readonly byte[] Interesting = Encoding.UTF8.GetBytes("\"{}[],:\\u0dD8eEn1-. \t");

    [Fact]
    public async Task MutatedBodies_AreBoundOrRefused_NeverThrown()
    {
        var random = new Random(20_240_610);
        var refusals = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 20_000; i++)
        {
            var (value, problem) = await JsonBody.ReadAsync(Request(Mutate(Seed, random)), ApiJsonContext.Default.BatchCreateRequest);

            Assert.True((value is null) != (problem is null));
            if (problem is not null)
            {
                Assert.Equal(400, problem.StatusCode);
                refusals.Add(problem.ProblemDetails.Type!);
            }
        }

        // The mutations reach every refusal of the reader, not only malformed JSON.
        Assert.Contains("urn:cloister:problem:malformed-json", refusals);
        Assert.Contains("urn:cloister:problem:duplicate-field", refusals);
        Assert.Contains("urn:cloister:problem:unknown-field", refusals);
    }

    [Fact]
    public async Task BodyOfManyChunks_BindsExactly_ValuesStraddlingChunkBoundaries()
    {
        var random = new Random(7);
        var values = Enumerable.Range(0, 60).Select(i => new string([.. Enumerable.Range(0, 50_000 + i).Select(_ => (char)random.Next('a', 'z' + 1))])).ToList();
        var body = Encoding.UTF8.GetBytes("{\"items\":[" + string.Join(",", values.Select(v => $"{{\"value\":\"{v}\"}}")) + "]}");

        var (batch, problem) = await JsonBody.ReadAsync(Request(body), ApiJsonContext.Default.BatchCreateRequest);

        Assert.Null(problem);
        Assert.Equal(values, batch!.Items!.Select(item => item!.Value));
    }

    [Theory]
    [InlineData("""{"val\ud800ue":"x"}""")]
    [InlineData("""{"value":"x","metadata":{"\udc00":1}}""")]
    public async Task MemberNameThatIsNotUnicode_IsMalformedJson(string body)
    {
        var (_, problem) = await JsonBody.ReadAsync(Request(Encoding.UTF8.GetBytes(body)), ApiJsonContext.Default.CreateTokenRequest);

        Assert.Equal("urn:cloister:problem:malformed-json", problem!.ProblemDetails.Type);
    }

    // Every string of a body, wherever it is (a DTO member, free-form metadata, an array), must be Unicode: a lone
    // surrogate bound into a string failed later, when it was encoded, as a 500.
    [Theory]
    [InlineData("""{"value":"x","classifier":"a\ud800"}""", "$.classifier")]
    [InlineData("""{"value":"x","metadata":{"note":"\udc00"}}""", "$.metadata.note")]
    [InlineData("""{"value":"x","metadata":{"list":["ok","\ud800\ud800"]}}""", "$.metadata.list[1]")]
    public async Task StringThatIsNotUnicode_IsMalformedJson_AtItsPath(string body, string path)
    {
        var (_, problem) = await JsonBody.ReadAsync(Request(Encoding.UTF8.GetBytes(body)), ApiJsonContext.Default.CreateTokenRequest);

        Assert.Equal("urn:cloister:problem:malformed-json", problem!.ProblemDetails.Type);
        Assert.Contains(path, problem.ProblemDetails.Detail, StringComparison.Ordinal);
    }

    // Raw bytes that are not UTF-8 in a free-form value (the reader passes them) are as malformed as a lone surrogate.
    [Theory]
    [InlineData(new byte[] { 0xff })]
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 })]
    [InlineData(new byte[] { 0xc3 })]
    public async Task RawBytesThatAreNotUtf8_InAMetadataValue_AreMalformedJson(byte[] bad)
    {
        byte[] body = [.. "{\"value\":\"x\",\"metadata\":{\"n\":\""u8, .. bad, .. "\"}}"u8];

        var (_, problem) = await JsonBody.ReadAsync(Request(body), ApiJsonContext.Default.CreateTokenRequest);

        Assert.Equal("urn:cloister:problem:malformed-json", problem!.ProblemDetails.Type);
        Assert.Contains("$.metadata.n", problem.ProblemDetails.Detail, StringComparison.Ordinal);
    }

    private static readonly IServiceProvider Services = new ServiceCollection()
        .AddSingleton(Options.Create(new ServerOptions()))
        .AddSingleton<LargeRequests>()
        .BuildServiceProvider();

    private static HttpRequest Request(byte[] body)
    {
        // A body over 1 MiB takes a large-request slot first, as in the server.
        var http = new DefaultHttpContext { RequestServices = Services };
        http.Request.Body = new MemoryStream(body);
        http.Request.ContentLength = body.Length;
        return http.Request;
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = new List<byte>(seed);
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 1:
                    bytes.Insert(at, Interesting[random.Next(Interesting.Length)]);
                    break;
                case 2:
                    bytes.RemoveAt(at);
                    break;
                default:
                    // Repeat a slice: duplicates members, nests, breaks structure.
                    var length = random.Next(1, Math.Min(40, bytes.Count - at) + 1);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
            }
        }

        return [.. bytes];
    }
}
