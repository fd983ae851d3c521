using System.Text.Json;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Attestation.Results;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>The attestation surfaces: `cloister attest verify` on every EXPECTED.md row, and the HTTP endpoint's signed result.</summary>
public sealed class AttestationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string Vectors = FindVectors();

    private readonly TestServer _server = fixture.Server;

    // EXPECTED.md (shared/vectors/attestation), one row per case: type, evidence, certificates/collateral, time, exit code.
    [Theory]
    [InlineData("sev-snp", "sev-snp/virteesev_report_milan.bin", "--cert sev-snp/virteesev_vcek_milan.der", "2024-06-01", 0)]
    [InlineData("sev-snp", "sev-snp/gosevguest_attestation.bin", "--cert sev-snp/gosevguest_vcek.testcer", "2024-06-01", 1)]
    [InlineData("sev-snp", "sev-snp/trustee_test-report.bin", "--cert sev-snp/trustee_test-vcek.der", "2024-06-01", 0)]
    [InlineData("sev-snp", "sev-snp/trustee_test-vlek-report.bin", "--cert sev-snp/trustee_test-vlek.der", "2025-06-01", 1)]
    [InlineData("sev-snp", "sev-snp/trustee_test-vlek-report.bin", "--cert sev-snp/trustee_test-vlek.der", "2026-06-01", 1)]
    [InlineData("sev-snp", "sev-snp/trustee_e2e_genoa_report_reconstructed.bin", "--cert sev-snp/trustee_e2e_genoa_vcek.der", "2026-01-01", 0)]
    [InlineData("sev-snp", "sev-snp/routex_oak_turin_v5_report.bin", "--cert sev-snp/routex_vcek-chain-turin.pem", "2026-01-01", 0)]
    [InlineData("sev-snp", "sev-snp/trustee_az-snp-vtpm_hcl-report.bin", "--cert sev-snp/trustee_az-snp-vtpm_vcek.pem", "2024-06-01", 0)]
    [InlineData("sev-snp", "sev-snp/trustee_test-report.bin", "--cert sev-snp/trustee_test-vcek-invalid-new.der", "2024-06-01", 1)]
    [InlineData("sev-snp", "sev-snp/trustee_test-report.bin", "--cert sev-snp/trustee_test-vcek-invalid-legacy.der", "2024-06-01", 1)]
    [InlineData("sev-snp", "sev-snp/negative/snp_measurement_bitflip.bin", "--cert sev-snp/virteesev_vcek_milan.der", "2024-06-01", 1)]
    [InlineData("sev-snp", "sev-snp/negative/snp_truncated.bin", "--cert sev-snp/virteesev_vcek_milan.der", "2024-06-01", 1)]
    [InlineData("tdx", "tdx/dcapqvl_tdx_quote", "--collateral tdx/dcapqvl_tdx_quote_collateral.json", "2025-07-01", 0)]
    [InlineData("tdx", "tdx/dcapqvl_tdx_quote_outdated", "--collateral tdx/dcapqvl_tdx_quote_outdated_collateral.json", "2026-03-01", 1)]
    [InlineData("tdx", "tdx/gotdxguest_quote_v5_sample.dat", "--collateral tdx/dcapqvl_tdx_quote_outdated_collateral.json", "2026-03-01", 0)]
    [InlineData("tdx", "tdx/gotdxguest_tdx_prod_quote_SPR_E4.dat", "", "2024-01-01", 3)]
    [InlineData("tdx", "tdx/trustee_tdx_quote_4.dat", "", "2025-11-01", 1)]
    [InlineData("tdx", "tdx/negative/tdx_quote_sig_bitflip.dat", "--collateral tdx/dcapqvl_tdx_quote_collateral.json", "2025-07-01", 1)]
    [InlineData("sgx", "sgx/dcapqvl_sgx_quote", "--collateral sgx/dcapqvl_sgx_quote_collateral.json", "2025-07-01", 3)]
    [InlineData("sgx", "sgx/trustee_occlum_quote.dat", "", "2024-01-01", 1)]
    [InlineData("nitro", "nitro/evervault_valid-attestation-doc-bytes", "", "2022-10-13T09:00:00Z", 0)]
    [InlineData("nitro", "nitro/evervault_debug-mode-attestation-doc-bytes", "", "2022-10-12T12:00:00Z", 1)]
    [InlineData("nitro", "nitro/evervault_valid-attestation-doc-base64", "", "2023-09-18T12:00:00Z", 1)]
    [InlineData("nitro", "nitro/negative/nitro_signature_bitflip.bin", "", "2022-10-13T09:00:00Z", 1)]
    public async Task AttestVerify_ExpectedRow_ExitsWithItsVerdict(string type, string evidence, string extra, string at, int exitCode)
    {
        var args = new List<string> { "attest", "verify", "--type", type, "--evidence", Path.Combine(Vectors, evidence), "--at", at };
        var extraParts = extra.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < extraParts.Length; i += 2)
        {
            args.Add(extraParts[i]);
            args.Add(Path.Combine(Vectors, extraParts[i + 1]));
        }

        var result = await CloisterProcess.RunAsync(args);

        Assert.True(exitCode == result.ExitCode, result.ToString());
        var verdict = exitCode switch { 0 => "affirming", 3 => "warning", _ => "contraindicated" };
        Assert.Contains($"verdict   {verdict}", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttestVerify_PolicyAcceptingVmpl1_MakesTheVlekRowAffirming()
    {
        var policy = Path.Combine(_server.DataDirectory, "vmpl1-policy.json");
        await File.WriteAllTextAsync(policy, "{\"id\":\"vmpl1\",\"maxVmpl\":1}");

        var result = await CloisterProcess.RunAsync(
            "attest", "verify", "--type", "sev-snp", "--evidence", Path.Combine(Vectors, "sev-snp/trustee_test-vlek-report.bin"),
            "--cert", Path.Combine(Vectors, "sev-snp/trustee_test-vlek.der"), "--at", "2025-06-01", "--policy", policy, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal("affirming", json.RootElement.GetProperty("verdict").GetString());
        Assert.Equal("vmpl1", json.RootElement.GetProperty("policyId").GetString());
    }

    [Theory]
    [InlineData("--type", "bogus")]
    [InlineData("--evidence", "/no/such/file")]
    [InlineData("--at", "yesterday-ish")]
    public async Task AttestVerify_UnreadableArguments_ExitTwoWithOneLine(string option, string value)
    {
        var args = new Dictionary<string, string>
        {
            ["--type"] = "sev-snp",
            ["--evidence"] = Path.Combine(Vectors, "sev-snp/virteesev_report_milan.bin"),
            ["--at"] = "2024-06-01",
        };
        args[option] = value;

        var result = await CloisterProcess.RunAsync(["attest", "verify", .. args.SelectMany(a => new[] { a.Key, a.Value })]);

        Assert.Equal(2, result.ExitCode);
        Assert.Single(result.StderrLines);
        Assert.StartsWith("cloister:", result.StderrLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyEndpoint_SignsTheResult_AndTheJwksValidatesIt()
    {
        var body = TestServer.Json(new
        {
            type = "sev-snp",
            evidence = Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(Vectors, "sev-snp/virteesev_report_milan.bin"))),
            certificates = new[] { Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(Vectors, "sev-snp/virteesev_vcek_milan.der"))) },
            at = "2024-06-01T00:00:00Z",
        });
        var response = await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", _server.DefaultTenant.Key, body);
        Assert.Equal(200, response.StatusCode);
        Assert.Equal("affirming", response.Text("verdict"));
        var token = response.Text("token");

        var jwks = await _server.SendAsync(HttpMethod.Get, "/v1/attestation/jwks", key: null);
        Assert.Equal(200, jwks.StatusCode);
        Assert.True(AttestationResultValidator.TryCreate(jwks.Body, out var validator, out var error), error);

        var validation = await validator.ValidateAsync(token, DateTimeOffset.UtcNow);
        Assert.True(validation.IsValid, validation.Error);
        Assert.Equal(Verdict.Affirming, validation.Token!.Result.Verdict);
        Assert.Equal(response.Json.GetProperty("claims").GetProperty("measurement").GetString(), validation.Token.Result.Claims.Measurement);
        Assert.Equal("default", validation.Token.PolicyId);
        Assert.True(validation.Token.WasAppraisedUnder(new AppraisalPolicy()));
        Assert.Equal(new DateTimeOffset(2024, 6, 1, 0, 0, 0, TimeSpan.Zero), validation.Token.VerifiedAt);
        Assert.Null(validation.Token.Result.Claims.IssuedAt);

        // One changed character of the signed payload, and the relying party refuses it.
        var parts = token.Split('.');
        var payload = parts[1].ToCharArray();
        payload[10] = payload[10] == 'A' ? 'B' : 'A';
        Assert.False((await validator.ValidateAsync($"{parts[0]}.{new string(payload)}.{parts[2]}", DateTimeOffset.UtcNow)).IsValid);
    }

    [Fact]
    public async Task VerifyEndpoint_DebugEvidence_IsContraindicatedWithTheDebugCheckFailed()
    {
        var body = TestServer.Json(new
        {
            type = "nitro",
            evidence = Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(Vectors, "nitro/evervault_debug-mode-attestation-doc-bytes"))),
            at = "2022-10-12T12:00:00Z",
        });
        var response = await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", _server.DefaultTenant.Key, body);

        Assert.Equal("contraindicated", response.Text("verdict"));
        Assert.Contains(response.Json.GetProperty("checks").EnumerateArray(), c => c.GetProperty("name").GetString() == "debug" && c.GetProperty("status").GetString() == "fail");
    }

    [Fact]
    public async Task VerifyEndpoint_CallerPolicy_IsSignedAsTheCallers_AndCannotBorrowAServerPolicyId()
    {
        // The debug-mode document at a time inside its leaf's window, under a policy that allows debug.
        var evidence = Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(Vectors, "nitro/evervault_debug-mode-attestation-doc-bytes")));
        const string at = "2022-10-12T14:00:00Z";
        var key = _server.DefaultTenant.Key;

        var borrowed = await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", key, TestServer.Json(new
        {
            type = "nitro", evidence, at, policy = new { id = "payments-snp-2024-06", allowDebug = true },
        }));

        Assert.Equal(200, borrowed.StatusCode);
        Assert.Equal("affirming", borrowed.Text("verdict"));
        Assert.Equal("caller:payments-snp-2024-06", borrowed.Text("policyId"));

        // The signed result binds the policy's content and the times: a relying party holding the real
        // payments-snp-2024-06 (no debug) sees that this result was appraised under another policy.
        var token = await ValidateAsync(borrowed.Text("token"));
        Assert.True(AppraisalPolicyJson.TryParse("""{"id":"payments-snp-2024-06","allowDebug":true}""", out var callerPolicy, out var error), error);
        Assert.True(token.WasAppraisedUnder(callerPolicy));
        Assert.False(token.WasAppraisedUnder(callerPolicy with { AllowDebug = false }));
        Assert.Equal(AppraisalPolicyJson.Digest(callerPolicy), borrowed.Text("policyDigest"));
        Assert.Equal("caller:payments-snp-2024-06", token.PolicyId);
        Assert.Equal(DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture), token.VerifiedAt);
        Assert.Equal(new DateTimeOffset(2022, 10, 12, 13, 50, 6, 81, TimeSpan.Zero), token.Result.Claims.IssuedAt);

        // The server's own policy ids are refused for other content, also the "default" a policy without an id gets.
        foreach (var policy in new object[] { new { id = "default", allowDebug = true }, new { allowDebug = true } })
        {
            var refused = await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", key, TestServer.Json(new { type = "nitro", evidence, at, policy }));
            ProblemAssert.Is(refused, 400, "policy-id-reserved");
        }

        // The same content as the server's default policy is that policy, under its own id.
        var same = await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", key, TestServer.Json(new { type = "nitro", evidence, at, policy = new { id = "default" } }));
        Assert.Equal(200, same.StatusCode);
        Assert.Equal("default", same.Text("policyId"));
        Assert.Equal("contraindicated", same.Text("verdict"));
        Assert.True((await ValidateAsync(same.Text("token"))).WasAppraisedUnder(new AppraisalPolicy()));
    }

    private async Task<VerifiedAttestationResult> ValidateAsync(string token)
    {
        var jwks = await _server.SendAsync(HttpMethod.Get, "/v1/attestation/jwks", key: null);
        Assert.True(AttestationResultValidator.TryCreate(jwks.Body, out var validator, out var error), error);
        var validation = await validator.ValidateAsync(token, DateTimeOffset.UtcNow);
        Assert.True(validation.IsValid, validation.Error);
        return validation.Token;
    }

    [Fact]
    public async Task VerifyEndpoint_BadInput_IsProblemDetails()
    {
        var key = _server.DefaultTenant.Key;
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", key, TestServer.Json(new { type = "tpm", evidence = "AA==" })), 400, "unknown-tee");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", key, TestServer.Json(new { type = "nitro", evidence = "not base64!" })), 400, "invalid-request");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", key, TestServer.Json(new { type = "nitro", evidence = "AA==", policy = new { maxVmpl = "one" } })), 400, "invalid-policy");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", key, """{"type":"nitro","evidence":"AA==","policy":{"id":"\ud800"}}"""), 400, "malformed-json");


        // A verification time may lie in the past, never in the future: the signed verifiedAt is never after its iat.
        var tomorrow = DateTimeOffset.UtcNow.AddDays(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", key, TestServer.Json(new { type = "nitro", evidence = "AA==", at = tomorrow })), 400, "invalid-time");
        var writeOnly = await _server.CreateTenantAsync("tokens:write");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/attestation/verify", writeOnly.Key, TestServer.Json(new { type = "nitro", evidence = "AA==" })), 403, "missing-scope");
    }

    private static string FindVectors()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "test", "Cloister.Attestation.Tests", "vectors");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("test/Cloister.Attestation.Tests/vectors not found above the test directory.");
    }
}
