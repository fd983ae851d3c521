using System.Text;

namespace Cloister.Functions.Tests;

public class FunctionManifestJsonTests
{
    [Fact]
    public void Parse_MinimalManifest_MakesEveryDefaultExplicit()
    {
        var manifest = TestArchives.Manifest("""{"runtime":"python3","entrypoint":"handler.py"}""");

        Assert.Equal(FunctionRuntime.Python3, manifest.Runtime);
        Assert.Equal("/usr/bin/python3", manifest.InterpreterPath);
        Assert.Equal("handler.py", manifest.Entrypoint);
        Assert.Equal(new FunctionLimits(128, 10, 10, 1024 * 1024, 4), manifest.Limits);
        Assert.Empty(manifest.Permissions.Reveal);
        Assert.False(manifest.Permissions.ReturnPlaintext);
        Assert.Empty(manifest.Permissions.TokenizeOutput);
        Assert.Equal(FunctionIsolation.Warm, manifest.Isolation);
        Assert.Equal("none", manifest.Egress);
    }

    [Fact]
    public void Parse_CpuSecondsDefaultsToTheWallTimeout()
    {
        var manifest = TestArchives.Manifest("""{"runtime":"node","entrypoint":"index.js","limits":{"wallTimeoutSeconds":30}}""");

        Assert.Equal(30, manifest.Limits.CpuSeconds);
        Assert.Equal("/usr/bin/node", manifest.InterpreterPath);
    }

    [Fact]
    public void Parse_FullManifest_ReadsEveryField()
    {
        var manifest = TestArchives.Manifest("""
            {
              "runtime": "node",
              "entrypoint": "./src/index.js",
              "limits": {"memoryMiB": 256, "wallTimeoutSeconds": 5, "cpuSeconds": 3, "outputBytes": 4096, "concurrency": 8},
              "permissions": {
                "reveal": ["pan", "email"],
                "returnPlaintext": true,
                "tokenizeOutput": [
                  {"field": "payer.account", "format": "numeric"},
                  {"field": "card", "format": "pan-last4", "classifier": "pan"}
                ]
              },
              "isolation": "per-invocation",
              "egress": "none"
            }
            """);

        Assert.Equal("src/index.js", manifest.Entrypoint);
        Assert.Equal(new FunctionLimits(256, 5, 3, 4096, 8), manifest.Limits);
        Assert.Equal(["email", "pan"], manifest.Permissions.Reveal);
        Assert.True(manifest.Permissions.ReturnPlaintext);
        Assert.Equal(
            [new TokenizeOutputRule("card", TokenizeFormat.PanLast4, "pan"), new TokenizeOutputRule("payer.account", TokenizeFormat.Numeric, null)],
            manifest.Permissions.TokenizeOutput);
        Assert.Equal(FunctionIsolation.PerInvocation, manifest.Isolation);
        Assert.True(manifest.Permissions.MayReveal("pan"));
        Assert.False(manifest.Permissions.MayReveal("ssn"));
    }

    [Fact]
    public void Parse_SameMeaning_GivesEqualManifests()
    {
        var one = TestArchives.Manifest("""{"runtime":"python3","entrypoint":"h.py","permissions":{"reveal":["b","a"],"tokenizeOutput":[{"field":"x","format":"pan"}]}}""");
        var two = TestArchives.Manifest("""{"permissions":{"tokenizeOutput":[{"format":"pan","field":"x","classifier":null}],"reveal":["a","b"]},"entrypoint":"./h.py","runtime":"python3"}""");
        var other = TestArchives.Manifest("""{"runtime":"python3","entrypoint":"h.py","permissions":{"reveal":["a"]}}""");

        Assert.Equal(one, two);
        Assert.Equal(one.GetHashCode(), two.GetHashCode());
        Assert.NotEqual(one, other);
    }

    [Fact]
    public void Parse_RevealWildcard_PermitsAnyClassifier()
    {
        var manifest = TestArchives.Manifest("""{"runtime":"python3","entrypoint":"h.py","permissions":{"reveal":["*"]}}""");

        Assert.True(manifest.Permissions.MayReveal("anything"));
    }

    [Theory]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","egress":"internet"}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","egress":"allowlist"}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","egress":{"hosts":["example.com"]}}""")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","egress":null}""")]
    public void Parse_EgressOtherThanNone_IsRejectedSayingOnlyNoneIsSupported(string json)
    {
        Assert.False(FunctionManifestJson.TryParse(json, out var manifest, out var error));
        Assert.Null(manifest);
        Assert.Equal("egress: only \"none\" is supported for now", error);
    }

    [Theory]
    [InlineData("""{"entrypoint":"h.py"}""", "runtime:")]
    [InlineData("""{"runtime":"ruby","entrypoint":"h.rb"}""", "runtime:")]
    [InlineData("""{"runtime":3,"entrypoint":"h.py"}""", "runtime:")]
    [InlineData("""{"runtime":"python3"}""", "entrypoint:")]
    [InlineData("""{"runtime":"python3","entrypoint":"handler.js"}""", "entrypoint:")]
    [InlineData("""{"runtime":"node","entrypoint":"handler.py"}""", "entrypoint:")]
    [InlineData("""{"runtime":"python3","entrypoint":"/etc/h.py"}""", "entrypoint:")]
    [InlineData("""{"runtime":"python3","entrypoint":"../h.py"}""", "entrypoint:")]
    [InlineData("""{"runtime":"python3","entrypoint":""}""", "entrypoint:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":[]}""", "limits:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"memoryMiB":8}}""", "limits.memoryMiB:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"memoryMiB":8192}}""", "limits.memoryMiB:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"memoryMiB":128.5}}""", "limits.memoryMiB:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"memoryMiB":"128"}}""", "limits.memoryMiB:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"wallTimeoutSeconds":0}}""", "limits.wallTimeoutSeconds:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"wallTimeoutSeconds":100000}}""", "limits.wallTimeoutSeconds:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"cpuSeconds":-1}}""", "limits.cpuSeconds:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"outputBytes":0}}""", "limits.outputBytes:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"outputBytes":1000000000000}}""", "limits.outputBytes:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"concurrency":0}}""", "limits.concurrency:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"concurrency":1000}}""", "limits.concurrency:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","limits":{"disk":1}}""", "limits.disk: unknown field")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":true}""", "permissions:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"reveal":"pan"}}""", "permissions.reveal:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"reveal":["PAN"]}}""", "permissions.reveal:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"reveal":[1]}}""", "permissions.reveal:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"reveal":["pan","pan"]}}""", "permissions.reveal:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"reveal":["*","pan"]}}""", "permissions.reveal:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"returnPlaintext":"yes"}}""", "permissions.returnPlaintext:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"tokenizeOutput":{}}}""", "permissions.tokenizeOutput:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"tokenizeOutput":["card"]}}""", "permissions.tokenizeOutput:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"tokenizeOutput":[{"format":"pan"}]}}""", "permissions.tokenizeOutput.field:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"tokenizeOutput":[{"field":"a..b","format":"pan"}]}}""", "permissions.tokenizeOutput.field:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"tokenizeOutput":[{"field":"card","format":"pan"},{"field":"card","format":"random"}]}}""", "permissions.tokenizeOutput.field:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"tokenizeOutput":[{"field":"card"}]}}""", "permissions.tokenizeOutput.format:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"tokenizeOutput":[{"field":"card","format":"base64"}]}}""", "permissions.tokenizeOutput.format:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"tokenizeOutput":[{"field":"card","format":"pan","classifier":"Bad Classifier"}]}}""", "permissions.tokenizeOutput.classifier:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"tokenizeOutput":[{"field":"card","format":"pan","mask":true}]}}""", "permissions.tokenizeOutput.mask: unknown field")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","permissions":{"sealOutput":true}}""", "permissions.sealOutput: unknown field")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","isolation":"cold"}""", "isolation:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","isolation":true}""", "isolation:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py","name":"fraud"}""", "name: unknown field")]
    [InlineData("""{"runtime":"python3","runtime":"node","entrypoint":"h.py"}""", "runtime: duplicate field")]
    [InlineData("""[]""", "manifest:")]
    [InlineData("""{"runtime":"python3",""", "manifest:")]
    [InlineData("""{"runtime":"python3","entrypoint":"h.py"} {}""", "manifest:")]
    [InlineData("", "manifest:")]
    public void Parse_InvalidField_IsRejectedNamingTheField(string json, string expectedPrefix)
    {
        Assert.False(FunctionManifestJson.TryParse(json, out var manifest, out var error));
        Assert.Null(manifest);
        Assert.StartsWith(expectedPrefix, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_OversizedManifest_IsRejected()
    {
        var json = """{"runtime":"python3","entrypoint":"h.py","permissions":{"reveal":[""" + new string(' ', 70_000) + "]}}";

        Assert.False(FunctionManifestJson.TryParse(json, out _, out var error));
        Assert.StartsWith("manifest:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CanonicalJson_HasSortedKeysExplicitDefaultsAndNoWhitespace()
    {
        var manifest = TestArchives.Manifest("""
            { "permissions": {"tokenizeOutput": [{"format": "pan", "field": "card"}], "reveal": ["pan"]},
              "entrypoint": "handler.py", "runtime": "python3" }
            """);

        var canonical = Encoding.UTF8.GetString(FunctionManifestJson.ToCanonicalJson(manifest));

        Assert.Equal(
            """{"egress":"none","entrypoint":"handler.py","isolation":"warm","limits":{"concurrency":4,"cpuSeconds":10,"memoryMiB":128,"outputBytes":1048576,"wallTimeoutSeconds":10},"permissions":{"returnPlaintext":false,"reveal":["pan"],"tokenizeOutput":[{"classifier":null,"field":"card","format":"pan"}]},"runtime":"python3"}""",
            canonical);
    }

    [Fact]
    public void CanonicalJson_RoundTripsThroughTheParser()
    {
        var manifest = TestArchives.Manifest("""
            {"runtime":"node","entrypoint":"a/b.js","limits":{"memoryMiB":64,"cpuSeconds":2},"isolation":"per-invocation",
             "permissions":{"reveal":["ssn","pan"],"returnPlaintext":true,"tokenizeOutput":[{"field":"x.y","format":"fpe","classifier":"ssn"}]}}
            """);
        var canonical = FunctionManifestJson.ToCanonicalJson(manifest);

        Assert.True(FunctionManifestJson.TryParse(canonical, out var reparsed, out var error), error);
        Assert.Equal(canonical, FunctionManifestJson.ToCanonicalJson(reparsed));
    }

    [Fact]
    public void Parse_MutatedManifests_NeverThrow()
    {
        var seed = Encoding.UTF8.GetBytes("""{"runtime":"node","entrypoint":"a.js","limits":{"memoryMiB":64},"permissions":{"reveal":["pan"],"tokenizeOutput":[{"field":"c","format":"pan"}]},"isolation":"warm","egress":"none"}""");
        var random = new Random(1234);
        for (var i = 0; i < 5000; i++)
        {
            var mutated = (byte[])seed.Clone();
            for (var j = random.Next(1, 4); j > 0; j--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            if (FunctionManifestJson.TryParse(mutated, out var manifest, out var error))
            {
                Assert.Null(error);
                _ = FunctionManifestJson.ToCanonicalJson(manifest);
            }
            else
            {
                Assert.NotNull(error);
            }
        }
    }
}

public class FunctionManifestJsonEncodingTests
{
    [Theory]
    [InlineData("""{"runtime":"python3","entrypoint":"\ud800.py"}""")]
    [InlineData("""{"\udc00":"python3"}""")]
    public void Parse_LoneSurrogateEscape_IsAnErrorValue(string json)
    {
        Assert.False(FunctionManifestJson.TryParse(json, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Parse_InvalidUtf8_IsAnErrorValue()
    {
        byte[] json = [.. "{\"runtime\":\""u8, 0xE5, .. "\"}"u8];

        Assert.False(FunctionManifestJson.TryParse(json, out _, out var error));
        Assert.Equal("manifest: not valid UTF-8", error);
    }
}
