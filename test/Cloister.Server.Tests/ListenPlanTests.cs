using Cloister.Server.Hosting;

namespace Cloister.Server.Tests;

public sealed class ListenPlanTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("http://localhost:8080")]
    [InlineData("http://[::1]:8080")]
    [InlineData("http://127.0.0.2:0")]
    public void PlainHttp_OnLoopback_IsAllowed(string url)
    {
        Assert.Null(ListenPlan.Check(new ServerOptions { Urls = [url] }, out var insecure));
        Assert.False(insecure);
    }

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://+:8080")]
    [InlineData("http://10.1.2.3:8080")]
    [InlineData("http://example.com:8080")]
    public void PlainHttp_OffLoopback_IsRefusedWithoutAnExplicitChoice(string url)
    {
        var error = ListenPlan.Check(new ServerOptions { Urls = [url] }, out _);
        Assert.NotNull(error);
        Assert.Contains("--insecure-http", error, StringComparison.Ordinal);
    }

    [Fact]
    public void PlainHttp_OffLoopback_WithInsecureHttp_IsAllowedAndFlagged()
    {
        Assert.Null(ListenPlan.Check(new ServerOptions { Urls = ["http://0.0.0.0:8080"], InsecureHttp = true }, out var insecure));
        Assert.True(insecure);
    }

    [Fact]
    public void Https_WithoutCertificate_IsRefused()
        => Assert.Contains("--tls-self-signed", ListenPlan.Check(new ServerOptions { Urls = ["https://0.0.0.0:8443"] }, out _), StringComparison.Ordinal);

    [Fact]
    public void Https_WithSelfSigned_IsAllowed()
        => Assert.Null(ListenPlan.Check(new ServerOptions { Urls = ["https://0.0.0.0:8443"], TlsSelfSigned = true }, out _));

    [Fact]
    public void PlainHttp_OffLoopback_WithCertificate_AsksForHttps()
        => Assert.Contains("https://", ListenPlan.Check(new ServerOptions { Urls = ["http://0.0.0.0:8443"], TlsSelfSigned = true }, out _), StringComparison.Ordinal);

    [Fact]
    public void NotAUrl_IsRefused()
        => Assert.NotNull(ListenPlan.Check(new ServerOptions { Urls = ["ftp://127.0.0.1"] }, out _));

    [Fact]
    public void Options_CertAndKeyGoTogether()
        => Assert.NotNull(new ServerOptions { TlsCertPath = "c.pem" }.Validate());
}
