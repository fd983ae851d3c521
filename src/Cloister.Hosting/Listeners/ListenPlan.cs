using System.Net;

namespace Cloister.Hosting.Listeners;

/// <summary>What a listener can serve: TLS if it has a certificate, and plain HTTP beyond loopback only by explicit choice.</summary>
/// <param name="HasTls">A certificate is configured, so https:// addresses can be served.</param>
/// <param name="InsecureHttp">The operator passed <c>--insecure-http</c>: plain HTTP on a non-loopback address is allowed (and warned about).</param>
/// <param name="TlsOptions">The options that give this listener a certificate (e.g. "--tls-cert/--tls-key, --tls-self-signed"), or null when it speaks plain HTTP only.</param>
public sealed record ListenRules(bool HasTls, bool InsecureHttp, string? TlsOptions)
{
    /// <summary>A frames listener (the key broker, a listening worker): plain HTTP only, so loopback unless <paramref name="insecureHttp"/>.</summary>
    public static ListenRules PlainHttpOnly(bool insecureHttp) => new(false, insecureHttp, null);
}

/// <summary>
/// Decides whether addresses are safe to serve. The one check of every Cloister listener (the router, the key broker, a
/// listening enclave worker), run on the configured addresses before anything starts and again on the addresses
/// actually bound: plain HTTP only on loopback unless the operator explicitly chose <c>--insecure-http</c>; https://
/// only with a certificate.
/// </summary>
public static class ListenPlan
{
    /// <summary>The warning every listener gives, at every start, when <c>--insecure-http</c> let it bind plain HTTP beyond loopback.</summary>
    public const string InsecureHttpWarning = "--insecure-http: serving plain HTTP on a non-loopback address; everything this listener receives and answers (keys, tokens, values, frames) crosses the network unencrypted.";

    /// <summary>Returns an error message (one line), or null when every address in <paramref name="urls"/> is acceptable.</summary>
    /// <param name="urls">The addresses, as given to Kestrel ("*" and "+" stand for every interface).</param>
    /// <param name="rules">What the listener can serve.</param>
    /// <param name="insecureNonLoopback">Set when an address is plain HTTP beyond loopback, allowed by <c>--insecure-http</c>.</param>
    public static string? Check(IEnumerable<string> urls, ListenRules rules, out bool insecureNonLoopback)
    {
        ArgumentNullException.ThrowIfNull(urls);
        ArgumentNullException.ThrowIfNull(rules);
        insecureNonLoopback = false;
        foreach (var url in urls)
        {
            if (!Uri.TryCreate(url.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                return rules.TlsOptions is null ? $"'{url}' is not an http:// URL." : $"'{url}' is not an http:// or https:// URL.";
            }

            if (uri.Scheme == Uri.UriSchemeHttps && !rules.HasTls)
            {
                return rules.TlsOptions is null
                    ? $"'{url}' is HTTPS, but this listener serves plain HTTP only (keep it on loopback, or use --insecure-http on a private network)."
                    : $"'{url}' is HTTPS but no certificate was given: pass {rules.TlsOptions}.";
            }

            if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri.Host))
            {
                if (rules.HasTls)
                {
                    return $"'{url}' is plain HTTP on a non-loopback address; use https://{uri.Authority} to serve it with the certificate.";
                }

                if (!rules.InsecureHttp)
                {
                    return rules.TlsOptions is null
                        ? $"Refusing plain HTTP on the non-loopback address '{url}': keep it on loopback, or pass --insecure-http to send it unencrypted over the network."
                        : $"Refusing plain HTTP on the non-loopback address '{url}': pass {rules.TlsOptions}, or --insecure-http.";
                }

                insecureNonLoopback = true;
            }
        }

        return null;
    }

    private static bool IsLoopback(string host)
        => host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
