using Cloister.Hosting.CommandLine;
using Cloister.Protocol;
using Cloister.Protocol.Http;
using Microsoft.AspNetCore.Builder;

namespace Cloister.Hosting.Listeners;

/// <summary>
/// The HTTP host of a frames endpoint: the key broker's, and a worker's with <c>--listen</c>. Plain HTTP, so the
/// <see cref="ListenPlan"/> allows loopback only unless <c>--insecure-http</c>.
/// </summary>
public static class FrameListener
{
    /// <summary>
    /// Check <paramref name="url"/>, then start a host serving POST <paramref name="pattern"/> to <paramref name="handler"/>.
    /// When <c>--insecure-http</c> let it bind plain HTTP beyond loopback, prints <c>cloister NAME: WARNING: …</c>.
    /// </summary>
    /// <param name="name">The process's name in its output lines ("keybroker", "worker").</param>
    /// <param name="url">The one address to bind.</param>
    /// <param name="insecureHttp">Whether the operator allowed plain HTTP beyond loopback.</param>
    /// <param name="pattern">The frames route (<see cref="FramePaths"/>).</param>
    /// <param name="handler">Who answers frames.</param>
    /// <param name="maxBytes">The largest frame accepted (413 above it).</param>
    /// <param name="bearerToken">The token every frame must carry, or null.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The started host; the caller stops and disposes it.</returns>
    /// <exception cref="CliException">The address is refused by the listen plan, or cannot be bound.</exception>
    public static async Task<WebApplication> StartAsync(string name, string url, bool insecureHttp, string pattern, IFrameHandler handler, long maxBytes, string? bearerToken, CancellationToken cancellationToken)
    {
        var spec = new ListenerSpec([url], ListenRules.PlainHttpOnly(insecureHttp), maxBytes);
        WebApplication app;
        try
        {
            app = Listener.CreateBuilder(spec).Build();
        }
        catch (ListenRefusedException e)
        {
            throw new CliException(e.Message, 2);
        }

        app.MapFrames(pattern, handler, maxBytes, bearerToken);
        try
        {
            if (await Listener.StartAsync(app, spec, cancellationToken))
            {
                Console.WriteLine($"cloister {name}: WARNING: {ListenPlan.InsecureHttpWarning}");
            }

            return app;
        }
        catch (ListenRefusedException e)
        {
            await app.DisposeAsync();
            throw new CliException(e.Message, 2);
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
}
