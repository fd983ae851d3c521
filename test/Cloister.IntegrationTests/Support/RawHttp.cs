using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cloister.IntegrationTests.Support;

/// <summary>
/// HTTP/1.1 over a plain socket, for requests no HttpClient sends: a body that stops arriving. It writes the head and
/// the first part of the body, keeps the connection open without sending the rest, and reads the server's answer.
/// </summary>
public static class RawHttp
{
    public static async Task<ApiResponse> SendStalledAsync(Uri baseAddress, string method, string path, string authorization, int declaredLength, string firstPart, TimeSpan timeout)
    {
        using var client = new TcpClient();
        using var cancel = new CancellationTokenSource(timeout);
        await client.ConnectAsync(baseAddress.Host, baseAddress.Port, cancel.Token);
        var stream = client.GetStream();
        var head = $"{method} {path} HTTP/1.1\r\nHost: {baseAddress.Authority}\r\nAuthorization: {authorization}\r\nContent-Type: application/json\r\nContent-Length: {declaredLength}\r\n\r\n{firstPart}";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(head), cancel.Token);

        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (!TryParse(received.ToArray(), method, path, out _))
        {
            var read = await stream.ReadAsync(buffer, cancel.Token);
            if (read == 0)
            {
                break;
            }

            received.Write(buffer, 0, read);
        }

        return TryParse(received.ToArray(), method, path, out var response)
            ? response
            : throw new InvalidOperationException($"Incomplete HTTP response: {Encoding.UTF8.GetString(received.ToArray())}");
    }

    /// <summary>Parses a complete response (Content-Length or chunked body); false while more bytes are needed.</summary>
    private static bool TryParse(byte[] data, string method, string path, out ApiResponse response)
    {
        response = null!;
        var text = Encoding.UTF8.GetString(data);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var lines = text[..end].Split("\r\n");
        var status = (HttpStatusCode)int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var rest = text[(end + 4)..];
        string body;
        if (headers.TryGetValue("Content-Length", out var length))
        {
            var count = int.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
            if (Encoding.UTF8.GetByteCount(rest) < count)
            {
                return false;
            }

            body = rest;
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var chunks = new StringBuilder();
            var position = 0;
            while (true)
            {
                var lineEnd = rest.IndexOf("\r\n", position, StringComparison.Ordinal);
                if (lineEnd < 0)
                {
                    return false;
                }

                var size = Convert.ToInt32(rest[position..lineEnd], 16);
                if (size == 0)
                {
                    break;
                }

                if (rest.Length < lineEnd + 2 + size + 2)
                {
                    return false;
                }

                chunks.Append(rest, lineEnd + 2, size);
                position = lineEnd + 2 + size + 2;
            }

            body = chunks.ToString();
        }
        else
        {
            return false;
        }

        var mediaType = headers.TryGetValue("Content-Type", out var type) ? type.Split(';')[0].Trim() : null;
        response = new ApiResponse(method, path, status, mediaType, string.Join("\n", lines.Skip(1)), body);
        return true;
    }
}
