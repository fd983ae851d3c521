using System.Globalization;

namespace Cloister.Hosting.CommandLine;

/// <summary>Durations on the command line: a number followed by s, m, h or d (90s, 30m, 24h, 7d).</summary>
public static class Durations
{
    /// <summary>The duration <paramref name="text"/> names.</summary>
    /// <exception cref="CliException">Not a duration (exit code 2, naming <paramref name="option"/>).</exception>
    public static TimeSpan Parse(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        var unit = text.Length > 1 ? text[^1] : ' ';
        if (!long.TryParse(text.AsSpan(0, Math.Max(0, text.Length - 1)), NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            || amount is < 1 or > 1_000_000)
        {
            throw new CliException($"{option} must be a number followed by s, m, h or d (e.g. 24h).", 2);
        }

        return unit switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            _ => throw new CliException($"{option} must be a number followed by s, m, h or d (e.g. 24h).", 2),
        };
    }
}
