using System.Security.Cryptography;
using System.Text;
using Cloister.Crypto;
using Cloister.Hosting.CommandLine;

namespace Cloister.Hosting.Children;

/// <summary>
/// The shared secret a router presents to a listening worker (<c>Authorization: Bearer</c> on every frame): whoever
/// can post frames to a worker can have it decrypt stored records, so a worker that listens answers only its router.
/// A token file holds one line of at least 32 characters; <c>cloister worker --listen</c> creates it (0600) when missing.
/// </summary>
public static class WorkerLinkToken
{
    /// <summary>The environment variable a supervised worker gets its token from (never on the command line).</summary>
    public const string EnvironmentVariable = "CLOISTER_WORKER_TOKEN";

    private const int MinimumLength = 32;

    /// <summary>A fresh random token (256 bits, base64url).</summary>
    public static string Generate() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>The token in <paramref name="path"/>, created with a fresh one when the file is missing (<paramref name="created"/>).</summary>
    /// <exception cref="CliException">The file cannot be created or read, or holds no usable token.</exception>
    public static string LoadOrCreate(string path, out bool created)
    {
        try
        {
            created = !File.Exists(path) && OwnerOnlyFile.TryCreate(path, Encoding.ASCII.GetBytes(Generate() + "\n"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--token-file: cannot create {path} ({e.GetType().Name}).", 2);
        }

        return Load(path, "--token-file");
    }

    /// <summary>The token in <paramref name="path"/> (named <paramref name="option"/> in errors).</summary>
    /// <exception cref="CliException">The file is missing, unreadable or holds no usable token.</exception>
    public static string Load(string path, string option)
    {
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{option}: cannot read {path} ({e.GetType().Name}).", 2);
        }

        return Validate(text, $"{option} {path}");
    }

    /// <summary><paramref name="token"/> when it is usable.</summary>
    /// <exception cref="CliException">Shorter than 32 characters, or other characters than an HTTP bearer token's (RFC 6750 b64token).</exception>
    public static string Validate(string token, string source)
        => token.Length >= MinimumLength && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/' or '=')
            ? token
            : throw new CliException($"{source}: a worker token is one line of at least {MinimumLength} characters from A-Z a-z 0-9 - . _ ~ + / =.", 2);
}
