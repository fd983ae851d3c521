using System.Net.Http.Json;
using System.Security.Authentication;
using System.Text.Json;
using Cloister.Cli;
using Cloister.IntegrationTests.Support;
using Cloister.Server;
using Cloister.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Cloister.IntegrationTests;

/// <summary>Plain HTTP only on loopback unless explicitly allowed; TLS with a self-signed certificate; owner-only secret files.</summary>
public sealed class TransportSecurityTests
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://[::]:0")]
    [InlineData("http://*:0")]
    [InlineData("http://192.0.2.10:0")]
    [InlineData("https://127.0.0.1:0")]
    public async Task Build_PlainHttpOffLoopbackOrHttpsWithoutCertificate_ThrowsServerConfigurationException(string url)
    {
        using var data = TempDirectory.Create("insecure");
        await using var partition = InProcessPartition.Open(data.Path);

        var error = await Assert.ThrowsAsync<ServerConfigurationException>(() =>
            CloisterServer.BuildAsync(new ServerOptions { DataDirectory = data.Path, Urls = [url] }, partition.Transport, null, CancellationToken.None));

        Assert.Contains(url, error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(data.File("credentials.json")), "a refused configuration must not bootstrap credentials");
    }

    [Fact]
    public async Task Serve_PlainHttpOnAllInterfaces_WithoutTls_ExitsWithOneLine()
    {
        using var data = TempDirectory.Create("serve-insecure");
        var result = await CloisterProcess.RunAsync("serve", "--data-dir", data.Path, "--urls", "http://0.0.0.0:0");

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith("cloister:", line, StringComparison.Ordinal);
        Assert.Contains("--insecure-http", line, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", result.Stdout, StringComparison.Ordinal);
    }

    /// <summary>The router, the key broker and a listening worker pass one listen plan: no plain HTTP beyond loopback by default.</summary>
    [Theory]
    [InlineData("serve")]
    [InlineData("keybroker")]
    [InlineData("worker")]
    public async Task Listener_PlainHttpOnAllInterfaces_WithoutInsecureHttp_ExitsWith2AndOneLine(string listener)
    {
        using var data = TempDirectory.Create("listen-" + listener);

        var result = await CloisterProcess.RunAsync(ListenerArguments(listener, data, "http://0.0.0.0:0"));

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith("cloister: ", line, StringComparison.Ordinal);
        Assert.Contains("'http://0.0.0.0:0'", line, StringComparison.Ordinal);
        Assert.Contains("--insecure-http", line, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", result.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(data.File("master.key")), "a refused listener got as far as the master key");
    }

    [Theory]
    [InlineData("keybroker")]
    [InlineData("worker")]
    public async Task FramesListener_PlainHttpOnAllInterfaces_WithInsecureHttp_ListensAndWarns(string listener)
    {
        using var data = TempDirectory.Create("insecure-" + listener);

        await using var process = await ServerProcess.StartCommandAsync([.. ListenerArguments(listener, data, "http://0.0.0.0:0"), "--insecure-http"]);

        Assert.StartsWith("http://0.0.0.0:", process.Url, StringComparison.Ordinal);
        Assert.Contains($"cloister {listener}: WARNING: --insecure-http: serving plain HTTP on a non-loopback address", process.Output, StringComparison.Ordinal);
    }

    /// <summary>How each listener is started on <paramref name="url"/> (the broker with a valid policy, so that only the address can stop it).</summary>
    private static string[] ListenerArguments(string listener, TempDirectory data, string url)
    {
        switch (listener)
        {
            case "serve":
                return ["serve", "--data-dir", data.Path, "--urls", url];
            case "keybroker":
                File.WriteAllText(data.File("attestation-policy.json"), """{ "appraisal": {}, "workers": [] }""");
                return ["keybroker", "--data-dir", data.Path, "--urls", url];
            default:
                return ["worker", "--data-dir", data.Path, "--listen", url, "--broker", "http://127.0.0.1:9/v1/broker/frames", "--token-file", data.File("router.token")];
        }
    }

    [Fact]
    public async Task Start_PlainHttpOnAllInterfaces_WithInsecureHttp_StartsAndLogsAWarning()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { Urls = ["http://0.0.0.0:0"], InsecureHttp = true });

        (await server.SendAsync(HttpMethod.Get, "/healthz", null)).Expect(200);
        Assert.Contains(server.LogEntries, e => e.Level == LogLevel.Warning && e.Text.Contains("insecure-http", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_TlsSelfSigned_ServesHttpsToAClientPinningTheCertificateThumbprint()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { Urls = ["https://127.0.0.1:0"], TlsSelfSigned = true });
        Assert.Equal("https", server.BaseAddress.Scheme);
        var thumbprint = server.Host.CertificateSha256;
        Assert.False(string.IsNullOrEmpty(thumbprint));

        // server.json tells the CLI which certificate to pin.
        using (var endpoint = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(server.DataDirectory, "server.json"))))
        {
            Assert.Equal(server.BaseAddress.ToString().TrimEnd('/'), endpoint.RootElement.GetProperty("url").GetString()!.TrimEnd('/'));
            Assert.Equal(thumbprint, endpoint.RootElement.GetProperty("certificateSha256").GetString(), ignoreCase: true);
        }

        (await server.SendAsync(HttpMethod.Get, "/healthz", null)).Expect(200);
        var token = await server.CreateTokenAsync(server.DefaultTenant.Key, new { value = "over tls" });
        Assert.Equal("over tls", await server.RevealValueAsync(server.DefaultTenant.Key, token));

        // The CLI pins the certificate from server.json.
        var cli = await CloisterProcess.RunAsync("tokens", "reveal", token, "--data-dir", server.DataDirectory);
        Assert.True(cli.ExitCode == 0, cli.ToString());
        Assert.Equal("over tls", cli.StdoutLines.Single());

        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(Path.Combine(server.DataDirectory, "tls-self-signed.pfx")));
    }

    [Fact]
    public async Task Start_TlsSelfSigned_IsRejectedByAClientThatDoesNotPinIt()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { Urls = ["https://127.0.0.1:0"], TlsSelfSigned = true });
        using var unpinned = new HttpClient { BaseAddress = server.BaseAddress };

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => unpinned.GetAsync(new Uri("/healthz", UriKind.Relative)));

        Assert.IsType<AuthenticationException>(error.InnerException);
    }

    [Fact]
    public async Task Start_TlsSelfSigned_PlainHttpRequestToTheHttpsPort_GetsNoAnswer()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { Urls = ["https://127.0.0.1:0"], TlsSelfSigned = true });
        using var plain = new HttpClient { BaseAddress = new UriBuilder(server.BaseAddress) { Scheme = "http" }.Uri };

        var answered = false;
        try
        {
            using var response = await plain.PostAsJsonAsync(new Uri("/v1/tokens", UriKind.Relative), new { value = "x" });
            answered = response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
        }

        Assert.False(answered);
    }

    [Fact]
    public async Task FirstStart_CreatesTheDataDirectoryAndWritesCredentialsAndKeyFilesOwnerOnly()
    {
        using var parent = TempDirectory.Create("modes");
        await using var server = await TestServer.StartAsync(parent.File("data"));
        var credentials = Path.Combine(server.DataDirectory, "credentials.json");

        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(credentials));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(Path.Combine(server.DataDirectory, "audit.key")));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(Path.Combine(server.DataDirectory, "master.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(server.DataDirectory) & (UnixFileMode)0b111_111_111);

        using var document = JsonDocument.Parse(File.ReadAllBytes(credentials));
        Assert.StartsWith("ck_", document.RootElement.GetProperty("adminKey").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("ck_", document.RootElement.GetProperty("tenantKey").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("ten_", document.RootElement.GetProperty("tenantId").GetString(), StringComparison.Ordinal);
        Assert.Equal(credentials, server.Host.CredentialsPath);
    }
}
