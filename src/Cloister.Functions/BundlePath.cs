using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Cloister.Functions;

/// <summary>Normalization of paths inside a bundle: relative, '/'-separated, no '.', '..' or empty segments.</summary>
internal static class BundlePath
{
    public const int MaxPathBytes = 1024;
    public const int MaxSegmentBytes = 255;

    /// <summary>
    /// Normalizes <paramref name="raw"/>: a leading "./" and "." segments and repeated or trailing '/' are dropped;
    /// an absolute path, a ".." segment, a backslash, a control character or invalid UTF-16 is an error.
    /// </summary>
    public static bool TryNormalize(string raw, [NotNullWhen(true)] out string? path, [NotNullWhen(false)] out string? error)
    {
        path = null;
        if (raw.Length == 0)
        {
            error = "empty path";
            return false;
        }

        if (raw[0] == '/')
        {
            error = $"absolute path '{Shown(raw)}' is not allowed";
            return false;
        }

        foreach (var ch in raw)
        {
            if (char.IsControl(ch) || ch == '\\')
            {
                error = $"path '{Shown(raw)}' contains a control character or backslash";
                return false;
            }
        }

        var segments = new List<string>();
        foreach (var segment in raw.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                error = $"path '{Shown(raw)}' contains '..'";
                return false;
            }

            if (Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes)
            {
                error = $"path '{Shown(raw)}' has a name longer than {MaxSegmentBytes} bytes";
                return false;
            }

            segments.Add(segment);
        }

        if (segments.Count == 0)
        {
            error = $"path '{Shown(raw)}' names no file";
            return false;
        }

        var joined = string.Join('/', segments);
        try
        {
            // Lone surrogates have no UTF-8 form; the measurement hashes UTF-8.
            if (new UTF8Encoding(false, true).GetByteCount(joined) > MaxPathBytes)
            {
                error = $"path '{Shown(raw)}' is longer than {MaxPathBytes} bytes";
                return false;
            }
        }
        catch (EncoderFallbackException)
        {
            error = "path is not valid Unicode";
            return false;
        }

        path = joined;
        error = null;
        return true;
    }

    /// <summary>Whether <paramref name="raw"/> names only the bundle root (".", "./", "").</summary>
    public static bool IsRoot(string raw) => raw.Split('/').All(s => s.Length == 0 || s == ".");

    private static string Shown(string raw)
    {
        var s = raw.Length > 80 ? raw[..80] + "…" : raw;
        return new string(s.Select(ch => char.IsControl(ch) ? '?' : ch).ToArray());
    }
}
