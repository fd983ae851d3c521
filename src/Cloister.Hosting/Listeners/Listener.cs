using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cloister.Hosting.Listeners;

/// <summary>An address the listen plan refused (before binding, or once bound); the message is one line.</summary>
public sealed class ListenRefusedException(string message) : Exception(message);

/// <summary>What one Cloister listener binds and accepts.</summary>
/// <param name="Urls">The addresses to bind, as given to Kestrel.</param>
/// <param name="Rules">What the listener may serve (<see cref="ListenPlan"/>).</param>
/// <param name="MaxRequestBodySize">The largest request body Kestrel reads (a route may raise its own).</param>
public sealed record ListenerSpec(IReadOnlyList<string> Urls, ListenRules Rules, long MaxRequestBodySize)
{
    /// <summary>The TLS certificate for https:// addresses, or null (plain HTTP only).</summary>
    public X509Certificate2? Certificate { get; init; }
}

/// <summary>
/// The one way a Cloister process builds its Kestrel host: the router, the key broker and a listening enclave worker.
/// Only the addresses in the <see cref="ListenerSpec"/> are bound (configuration from the environment or an
/// appsettings.json could otherwise add "Kestrel:Endpoints" the plan never saw), they pass <see cref="ListenPlan"/>
/// before anything binds, and the addresses actually bound pass it again once started.
/// </summary>
public static class Listener
{
    /// <summary>What is wrong with <paramref name="spec"/>'s addresses (one line), or null; <paramref name="insecureNonLoopback"/> as <see cref="ListenPlan.Check"/>.</summary>
    public static string? Check(ListenerSpec spec, out bool insecureNonLoopback)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return ListenPlan.Check(spec.Urls, spec.Rules, out insecureNonLoopback);
    }

    /// <summary>A slim web application builder for <paramref name="spec"/>: no configuration sources, no log providers (add yours), Kestrel set up.</summary>
    /// <exception cref="ListenRefusedException">The plan refuses an address.</exception>
    public static WebApplicationBuilder CreateBuilder(ListenerSpec spec)
    {
        if (Check(spec, out _) is { } refused)
        {
            throw new ListenRefusedException(refused);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        if (spec.Certificate is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        builder.WebHost.UseUrls([.. spec.Urls]);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = spec.MaxRequestBodySize;
            if (spec.Certificate is { } certificate)
            {
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
            }
        });
        return builder;
    }

    /// <summary>Starts <paramref name="app"/> and checks what it bound against the same plan (stopping it when refused).</summary>
    /// <returns>Whether an address bound is plain HTTP beyond loopback (allowed by <c>--insecure-http</c>): the caller warns.</returns>
    /// <exception cref="ListenRefusedException">A bound address is refused.</exception>
    /// <exception cref="IOException">An address cannot be bound (in use, not local).</exception>
    public static async Task<bool> StartAsync(WebApplication app, ListenerSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(spec);
        await app.StartAsync(cancellationToken);
        if (ListenPlan.Check(Addresses(app), spec.Rules, out var insecureNonLoopback) is { } bound)
        {
            await app.StopAsync(CancellationToken.None);
            throw new ListenRefusedException($"Refusing to serve: {bound}");
        }

        return insecureNonLoopback;
    }

    /// <summary>The addresses a started host listens on (real ports for port 0).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];
    }
}
