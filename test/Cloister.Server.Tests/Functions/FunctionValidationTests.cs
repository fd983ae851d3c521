using System.Text;
using System.Text.Json;
using Cloister.Api.Contracts;
using Cloister.Functions;
using Cloister.Server.Functions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Cloister.Server.Tests.Functions;

public sealed class FunctionValidationTests
{
    private const string PythonManifest = """{"runtime":"python3","entrypoint":"main.py"}""";

    private static DeployFunctionRequest Body(string manifest, byte[] bundle)
        => new(JsonDocument.Parse(manifest).RootElement.Clone(), Convert.ToBase64String(bundle));

    private static ProblemDetails Problem(ProblemHttpResult? result)
    {
        Assert.NotNull(result);
        return result.ProblemDetails;
    }

    [Theory]
    [InlineData("score", true)]
    [InlineData("card-risk.v2_1", true)]
    [InlineData("0day", true)]
    [InlineData("", false)]
    [InlineData("-lead", false)]
    [InlineData(".hidden", false)]
    [InlineData("Upper", false)]
    [InlineData("a/b", false)]
    [InlineData("..", false)]
    [InlineData("a b", false)]
    [InlineData("a\n", false)]
    public void Names_Are1To64LowerAlnumDotUnderscoreDash_StartingAlnum(string name, bool valid)
        => Assert.Equal(valid, FunctionValidation.IsValidName(name));

    [Fact]
    public void Names_LongerThan64_AreRejected()
    {
        Assert.True(FunctionValidation.IsValidName(new string('a', 64)));
        Assert.False(FunctionValidation.IsValidName(new string('a', 65)));
    }

    [Fact]
    public void Deploy_StoresTheCanonicalArchive_WhoseMeasurementIsTheReportedOne()
    {
        var (deploy, problem) = FunctionValidation.ValidateDeploy(Body(PythonManifest, Archives.TarGz(("main.py", "def handle(e, c): return 1\n"), ("./lib/x.py", "X = 1\n"))), BundleLimits.Default);

        Assert.Null(problem);
        Assert.True(FunctionBundle.TryReadTarGz(new MemoryStream(deploy!.CanonicalBundle), BundleLimits.Default, out var stored, out _));
        Assert.True(FunctionManifestJson.TryParse(Encoding.UTF8.GetBytes(deploy.CanonicalManifestJson), stored, out var manifest, out _));
        Assert.Equal(deploy.Measurement, FunctionMeasurement.Compute(manifest, stored));
        Assert.Equal(["lib/x.py", "main.py"], stored.Files.Select(f => f.Path));

        // Deterministic: the same files in another order and archive give the same stored bytes.
        var (again, _) = FunctionValidation.ValidateDeploy(Body(PythonManifest, Archives.TarGz(("lib/x.py", "X = 1\n"), ("main.py", "def handle(e, c): return 1\n"))), BundleLimits.Default);
        Assert.Equal(deploy.CanonicalBundle, again!.CanonicalBundle);
        Assert.Equal(deploy.Measurement, again.Measurement);
    }

    [Fact]
    public void Deploy_BadBase64_IsInvalidBundle()
    {
        var body = new DeployFunctionRequest(JsonDocument.Parse(PythonManifest).RootElement.Clone(), "not base64 !!");
        var problem = Problem(FunctionValidation.ValidateDeploy(body, BundleLimits.Default).Problem);
        Assert.Equal("urn:cloister:problem:invalid-bundle", problem.Type);
        Assert.Contains("base64", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Deploy_NotAnArchive_IsInvalidBundle()
    {
        var problem = Problem(FunctionValidation.ValidateDeploy(Body(PythonManifest, Encoding.UTF8.GetBytes("plain text")), BundleLimits.Default).Problem);
        Assert.Equal("urn:cloister:problem:invalid-bundle", problem.Type);
    }

    [Fact]
    public void Deploy_PathTraversalInTheArchive_IsRefused()
    {
        var problem = Problem(FunctionValidation.ValidateDeploy(Body(PythonManifest, Archives.TarGz(("main.py", "x"), ("../escape.py", "x"))), BundleLimits.Default).Problem);
        Assert.Equal("urn:cloister:problem:invalid-bundle", problem.Type);
        Assert.StartsWith("bundle:", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Deploy_BundleOverTheLimits_IsRefused()
    {
        var limits = new BundleLimits(10, 16, 16);
        var problem = Problem(FunctionValidation.ValidateDeploy(Body(PythonManifest, Archives.TarGz(("main.py", new string('x', 64)))), limits).Problem);
        Assert.Equal("urn:cloister:problem:invalid-bundle", problem.Type);
    }

    [Theory]
    [InlineData("""{"entrypoint":"main.py"}""", "manifest.runtime:")]
    [InlineData("""{"runtime":"ruby","entrypoint":"main.py"}""", "manifest.runtime:")]
    [InlineData("""{"runtime":"python3","entrypoint":"other.py"}""", "manifest.entrypoint:")]
    [InlineData("""{"runtime":"python3","entrypoint":"main.py","limits":{"memoryMiB":1}}""", "manifest.limits.memoryMiB:")]
    [InlineData("""{"runtime":"python3","entrypoint":"main.py","colour":"blue"}""", "manifest.colour:")]
    public void Deploy_BadManifest_NamesTheField(string manifest, string field)
    {
        var problem = Problem(FunctionValidation.ValidateDeploy(Body(manifest, Archives.TarGz(("main.py", "x"))), BundleLimits.Default).Problem);
        Assert.Equal("urn:cloister:problem:invalid-manifest", problem.Type);
        Assert.StartsWith(field, problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Deploy_EgressOtherThanNone_IsRejectedWithItsOwnCode()
    {
        var manifest = """{"runtime":"python3","entrypoint":"main.py","egress":"internet"}""";
        var problem = Problem(FunctionValidation.ValidateDeploy(Body(manifest, Archives.TarGz(("main.py", "x"))), BundleLimits.Default).Problem);
        Assert.Equal("urn:cloister:problem:egress-not-supported", problem.Type);
        Assert.StartsWith("manifest.egress:", problem.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"args":{"a":1}}""", null)]
    [InlineData("""{}""", null)]
    [InlineData("""{"args":null}""", null)]
    [InlineData("""{"args":[1]}""", "'args' must be a JSON object.")]
    [InlineData("""{"args":"x"}""", "'args' must be a JSON object.")]
    [InlineData("""{"version":0}""", "'version' must be a positive integer.")]
    [InlineData("""{"measurement":"ABC"}""", "'measurement' must be 96 lower-case hexadecimal digits (SHA-384).")]
    public void Invoke_BodyShape(string json, string? error)
    {
        var body = JsonSerializer.Deserialize(json, ApiJsonContext.Default.InvokeFunctionBody)!;
        var (invoke, problem) = FunctionValidation.ValidateInvoke(body, 1024);
        Assert.Equal(error, problem?.ProblemDetails.Detail);
        Assert.Equal(error is null, invoke is not null);
    }

    [Fact]
    public void Invoke_AbsentArgs_AreAnEmptyObject()
        => Assert.Equal("{}", FunctionValidation.ValidateInvoke(new InvokeFunctionBody(null, null, null), 1024).Invoke!.ArgsJson);

    [Theory]
    [InlineData("handler-error", 422)]
    [InlineData("timeout", 422)]
    [InlineData("memory-limit", 422)]
    [InlineData("unknown-token", 422)]
    [InlineData("classifier-not-permitted", 422)]
    [InlineData("plaintext-in-output", 422)]
    [InlineData("sandbox-unavailable", 503)]
    [InlineData("interrupted", 503)]
    [InlineData("measurement-mismatch", 500)]
    [InlineData("internal", 500)]
    public void InvocationErrorCodes_MapToStatus(string code, int status)
        => Assert.Equal(status, InvocationErrors.StatusOf(code));
}
