using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Cloister.Enclave.Attestation;

/// <summary>
/// The worker measurement: SHA-384 over the worker's build and configuration, the value clients and the key broker
/// pin. The encoding is specified in docs/design/attestation-flow.md ("Worker measurement").
/// </summary>
public static class WorkerMeasurement
{
    /// <summary>The runner scripts measured when they are present as files.</summary>
    public static IReadOnlyList<string> RunnerScriptNames { get; } = ["runner.js", "runner.py"];

    private static ReadOnlySpan<byte> Domain => "cloister-worker-measurement/v1"u8;

    /// <summary>Whether <paramref name="fileName"/> is part of the measured build.</summary>
    public static bool IsMeasured(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return (fileName.StartsWith("Cloister", StringComparison.Ordinal) && fileName.EndsWith(".dll", StringComparison.Ordinal))
            || fileName == "cloister.dll"
            || RunnerScriptNames.Contains(fileName, StringComparer.Ordinal);
    }

    /// <summary>Lower-case hex SHA-384 of the measured files in <paramref name="appDirectory"/> and <paramref name="configuration"/>.</summary>
    /// <param name="appDirectory">The directory holding the worker's assemblies (top level only).</param>
    /// <param name="configuration">Settings that change what the worker does (sandbox backend, pool sizes, …).</param>
    public static string Compute(string appDirectory, IReadOnlyDictionary<string, string> configuration)
    {
        ArgumentException.ThrowIfNullOrEmpty(appDirectory);
        ArgumentNullException.ThrowIfNull(configuration);
        string[] files = [.. Directory.EnumerateFiles(appDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(IsMeasured)
            .Order(StringComparer.Ordinal)];

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
        hash.AppendData(Domain);
        AppendCount(hash, files.Length);
        foreach (string name in files)
        {
            AppendString(hash, name);
            using FileStream content = File.OpenRead(Path.Combine(appDirectory, name));
            hash.AppendData(SHA384.HashData(content));
        }

        AppendCount(hash, configuration.Count);
        foreach (KeyValuePair<string, string> pair in configuration.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            AppendString(hash, pair.Key);
            AppendString(hash, pair.Value);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void AppendCount(IncrementalHash hash, int count)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)count);
        hash.AppendData(bytes);
    }

    private static void AppendString(IncrementalHash hash, string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        AppendCount(hash, utf8.Length);
        hash.AppendData(utf8);
    }
}
