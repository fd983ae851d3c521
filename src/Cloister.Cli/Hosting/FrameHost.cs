using Cloister.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cloister.Cli.Hosting;

/// <summary>
/// The HTTP host of a frames endpoint: the key broker's, and a worker's with <c>--listen</c>. It passes the router's
/// <see cref="ListenPlan"/> (plain HTTP, so loopback unless <c>--insecure-http</c>) on the address it is given, and
/// again on the addresses Kestrel actually bound.
/// </summary>
internal static class FrameHost
{
    /// <summary>
    /// Check <paramref name="url"/>, then start a host serving POST <paramref name="pattern"/> to <paramref name="handler"/>.
    /// When <c>--insecure-http</c> let it bind plain HTTP beyond loopback, prints <c>cloister NAME: WARNING: …</c>.
    /// </summary>
    /// <param name="name">The process's name in its output lines ("keybroker", "worker").</param>
    /// <param name="url">The one address to bind.</param>
    /// <param name="insecureHttp">Whether the operator allowed plain HTTP beyond loopback.</param>
    /// <param name="pattern">The frames route.</param>
    /// <param name="handler">Who answers frames.</param>
    /// <param name="maxBytes">The largest frame accepted (413 above it).</param>
    /// <param name="bearerToken">The token every frame must carry, or null.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The started host; the caller stops and disposes it.</returns>
    /// <exception cref="CliException">The address is refused by the listen plan, or cannot be bound.</exception>
    public static async Task<WebApplication> StartAsync(string name, string url, bool insecureHttp, string pattern, IFrameHandler handler, long maxBytes, string? bearerToken, CancellationToken cancellationToken)
    {
        var rules = ListenRules.PlainHttpOnly(insecureHttp);
        if (ListenPlan.Check([url], rules, out _) is { } refused)
        {
            throw new CliException(refused, 2);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });

        // As for the router: only the address given here is bound, whatever the environment says.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxBytes;
        });
        var app = builder.Build();
        app.MapFrames(pattern, handler, maxBytes, bearerToken);
        try
        {
            await app.StartAsync(cancellationToken);

            // Belt and braces, as the router does: whatever bound must pass the same plan.
            if (ListenPlan.Check(Addresses(app), rules, out var insecureNonLoopback) is { } bound)
            {
                await app.StopAsync(CancellationToken.None);
                throw new CliException($"Refusing to serve: {bound}", 2);
            }

            if (insecureNonLoopback)
            {
                Console.WriteLine($"cloister {name}: WARNING: {ListenPlan.InsecureHttpWarning}");
            }

            return app;
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new CliException($"cannot listen on {url}: {e.Message.ReplaceLineEndings(" ")}");
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>The addresses a started host listens on (real ports for port 0).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
        => [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];
}
