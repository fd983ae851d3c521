using Cloister.Hosting.Listeners;

namespace Cloister.Hosting.Tests;

/// <summary>The one listen check of the router, the key broker and a listening worker.</summary>
public sealed class ListenPlanTests
{
    private static readonly ListenRules Router = new(HasTls: false, InsecureHttp: false, "--tls-cert/--tls-key, --tls-self-signed");
    private static readonly ListenRules RouterWithTls = Router with { HasTls = true };

    private static ListenRules Rules(string listener, bool insecureHttp = false)
        => listener == "router" ? Router with { InsecureHttp = insecureHttp } : ListenRules.PlainHttpOnly(insecureHttp);

    [Theory]
    [InlineData("router", "http://127.0.0.1:8080")]
    [InlineData("router", "http://localhost:8080")]
    [InlineData("router", "http://[::1]:8080")]
    [InlineData("router", "http://127.0.0.2:0")]
    [InlineData("frames", "http://127.0.0.1:0")]
    [InlineData("frames", "http://localhost:8091")]
    [InlineData("frames", "http://[::1]:8091")]
    public void PlainHttp_OnLoopback_IsAllowed(string listener, string url)
    {
        Assert.Null(ListenPlan.Check([url], Rules(listener), out var insecure));
        Assert.False(insecure);
    }

    [Theory]
    [InlineData("router", "http://0.0.0.0:8080")]
    [InlineData("router", "http://*:8080")]
    [InlineData("router", "http://+:8080")]
    [InlineData("router", "http://10.1.2.3:8080")]
    [InlineData("router", "http://example.com:8080")]
    [InlineData("frames", "http://0.0.0.0:8091")]
    [InlineData("frames", "http://[::]:8091")]
    [InlineData("frames", "http://*:8091")]
    [InlineData("frames", "http://192.0.2.10:8091")]
    public void PlainHttp_OffLoopback_IsRefusedWithoutAnExplicitChoice(string listener, string url)
    {
        var error = ListenPlan.Check([url], Rules(listener), out _);
        Assert.NotNull(error);
        Assert.Contains("--insecure-http", error, StringComparison.Ordinal);
        Assert.Contains(url, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("router")]
    [InlineData("frames")]
    public void PlainHttp_OffLoopback_WithInsecureHttp_IsAllowedAndFlagged(string listener)
    {
        Assert.Null(ListenPlan.Check(["http://0.0.0.0:8080"], Rules(listener, insecureHttp: true), out var insecure));
        Assert.True(insecure);
    }

    [Fact]
    public void OneBadAddress_AmongGoodOnes_IsRefused()
        => Assert.Contains("0.0.0.0", ListenPlan.Check(["http://127.0.0.1:1", "http://0.0.0.0:2"], Router, out _), StringComparison.Ordinal);

    [Fact]
    public void Https_WithoutCertificate_IsRefused()
        => Assert.Contains("--tls-self-signed", ListenPlan.Check(["https://0.0.0.0:8443"], Router, out _), StringComparison.Ordinal);

    [Fact]
    public void Https_OnAPlainHttpOnlyListener_IsRefused()
        => Assert.Contains("plain HTTP only", ListenPlan.Check(["https://127.0.0.1:8091"], ListenRules.PlainHttpOnly(insecureHttp: true), out _), StringComparison.Ordinal);

    [Fact]
    public void Https_WithCertificate_IsAllowed()
        => Assert.Null(ListenPlan.Check(["https://0.0.0.0:8443"], RouterWithTls, out _));

    [Fact]
    public void PlainHttp_OffLoopback_WithCertificate_AsksForHttps()
        => Assert.Contains("https://", ListenPlan.Check(["http://0.0.0.0:8443"], RouterWithTls, out _), StringComparison.Ordinal);

    [Theory]
    [InlineData("router", "ftp://127.0.0.1")]
    [InlineData("frames", "ftp://127.0.0.1")]
    [InlineData("frames", "http://127.0.0.1:1;http://0.0.0.0:2")]
    public void NotAUrl_IsRefused(string listener, string url)
        => Assert.NotNull(ListenPlan.Check([url], Rules(listener), out _));
}
