using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace Cloister.Sandbox.Runner;

/// <summary>The outcome of reading one frame from the runner.</summary>
internal enum FrameReadStatus
{
    Ok,
    Closed,
    TooLarge,
    Malformed,
}

/// <summary>One frame read from the runner; <see cref="Document"/> is set only for <see cref="FrameReadStatus.Ok"/>.</summary>
internal readonly record struct FrameReadResult(FrameReadStatus Status, JsonDocument? Document, string Detail);

/// <summary>
/// Length-prefixed JSON frames: a 4-byte big-endian payload length, then that many bytes of a
/// UTF-8 JSON object with a string <c>type</c> member. See docs/runner-protocol.md.
/// </summary>
internal static class FrameCodec
{
    public const int HeaderSize = 4;

    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64 };

    /// <summary>
    /// Reads one frame. Every failure of the bytes is a value, never an exception: the caller only
    /// sees <see cref="IOException"/>-free results; cancellation still throws.
    /// </summary>
    public static async ValueTask<FrameReadResult> ReadAsync(Stream input, int maxFrameBytes, CancellationToken cancellationToken)
    {
        byte[] header = new byte[HeaderSize];
        int headerRead;
        try
        {
            headerRead = await ReadFullyAsync(input, header, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return new(FrameReadStatus.Closed, null, "the runner's output stream failed");
        }
        catch (ObjectDisposedException)
        {
            return new(FrameReadStatus.Closed, null, "the runner's output stream is closed");
        }

        if (headerRead == 0)
        {
            return new(FrameReadStatus.Closed, null, "the runner closed its output");
        }

        if (headerRead < HeaderSize)
        {
            return new(FrameReadStatus.Closed, null, "the runner closed its output inside a frame header");
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > (uint)maxFrameBytes)
        {
            // Decided from the header alone: the payload is never allocated or read.
            return new(FrameReadStatus.TooLarge, null, $"the runner announced a {length}-byte frame; the maximum is {maxFrameBytes} bytes");
        }

        if (length == 0)
        {
            return new(FrameReadStatus.Malformed, null, "the runner sent an empty frame");
        }

        // Allocated only after the length passed the cap. Not pooled: the JsonDocument parses in
        // place and keeps referring to these bytes until the caller disposes it.
        byte[] payload = new byte[length];
        int read;
        try
        {
            read = await ReadFullyAsync(input, payload, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return new(FrameReadStatus.Closed, null, "the runner's output stream failed inside a frame");
        }
        catch (ObjectDisposedException)
        {
            return new(FrameReadStatus.Closed, null, "the runner's output stream is closed");
        }

        if (read < length)
        {
            return new(FrameReadStatus.Closed, null, "the runner closed its output inside a frame");
        }

        // JsonDocument validates UTF-8 inside strings only when they are read; check it all here so
        // that no later GetString() can throw on runner bytes.
        if (!Utf8.IsValid(payload))
        {
            return new(FrameReadStatus.Malformed, null, "the runner sent a frame that is not valid UTF-8");
        }

        // Nor may an escape: "\ud800" (a lone surrogate) is valid JSON but no string, and GetString() throws on it.
        if (!EscapesAreUnicode(payload))
        {
            return new(FrameReadStatus.Malformed, null, "the runner sent a frame with a string that is not valid Unicode (an escaped lone surrogate)");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload.AsMemory(), ParseOptions);
        }
        catch (JsonException)
        {
            // The exception text may quote the payload; it is deliberately not kept.
            return new(FrameReadStatus.Malformed, null, "the runner sent a frame that is not valid UTF-8 JSON");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("type", out JsonElement type)
            || type.ValueKind != JsonValueKind.String)
        {
            document.Dispose();
            return new(FrameReadStatus.Malformed, null, "the runner sent a frame that is not a JSON object with a string \"type\"");
        }

        return new(FrameReadStatus.Ok, document, string.Empty);
    }

    /// <summary>
    /// False when a string or name of <paramref name="payload"/> has an escaped surrogate that is not one half of a pair.
    /// Only a payload with a <c>\uD…</c> escape at all is read (runners write literal UTF-8), and only escaped strings are decoded.
    /// </summary>
    private static bool EscapesAreUnicode(byte[] payload)
    {
        if (payload.AsSpan().IndexOf("\\ud"u8) < 0 && payload.AsSpan().IndexOf("\\uD"u8) < 0)
        {
            return true;
        }

        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = ParseOptions.MaxDepth });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                {
                    _ = reader.GetString();
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: the parse below says so.
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        return true;
    }

    /// <summary>Writes one frame (header and payload) and flushes.</summary>
    public static async ValueTask WriteAsync(Stream output, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        byte[] header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)payload.Length);
        await output.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        await output.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask<int> ReadFullyAsync(Stream input, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await input.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
