using Cloister.Hosting.Listeners;

namespace Cloister.Server.Tests;

public sealed class ServerOptionsTests
{
    [Fact]
    public void Options_CertAndKeyGoTogether()
        => Assert.NotNull(new ServerOptions { TlsCertPath = "c.pem" }.Validate());

    [Fact]
    public void ListenRules_OfTheRouter_OfferItsTlsOptions()
    {
        Assert.Contains("--tls-self-signed", ListenPlan.Check(["http://0.0.0.0:8080"], new ServerOptions().ListenRules, out _), StringComparison.Ordinal);
        Assert.Null(ListenPlan.Check(["https://0.0.0.0:8443"], new ServerOptions { TlsSelfSigned = true }.ListenRules, out _));
        Assert.Null(ListenPlan.Check(["http://0.0.0.0:8080"], new ServerOptions { InsecureHttp = true }.ListenRules, out var insecure));
        Assert.True(insecure);
    }
}
