using System.Net;

namespace Cloister.Server.Hosting;

/// <summary>
/// Decides whether the configured addresses are safe to serve: plain HTTP only on loopback unless the
/// operator explicitly chose --insecure-http; https:// addresses need a certificate.
/// </summary>
internal static class ListenPlan
{
    /// <summary>Returns an error message, or null when the plan is acceptable.</summary>
    public static string? Check(ServerOptions options, out bool insecureNonLoopback)
    {
        insecureNonLoopback = false;
        foreach (var url in options.Urls)
        {
            if (!Uri.TryCreate(url.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                return $"'{url}' is not an http:// or https:// URL.";
            }

            if (uri.Scheme == Uri.UriSchemeHttps && !options.HasTls)
            {
                return $"'{url}' is HTTPS but no certificate was given: pass --tls-cert/--tls-key or --tls-self-signed.";
            }

            if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri.Host))
            {
                if (options.HasTls)
                {
                    return $"'{url}' is plain HTTP on a non-loopback address; use https://{uri.Authority} to serve it with the certificate.";
                }

                if (!options.InsecureHttp)
                {
                    return $"Refusing plain HTTP on the non-loopback address '{url}': pass --tls-cert/--tls-key, --tls-self-signed, or --insecure-http.";
                }

                insecureNonLoopback = true;
            }
        }

        return null;
    }

    public static bool IsLoopback(string host)
        => host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
