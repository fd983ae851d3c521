using System.Globalization;
using System.Text;

namespace Cloister.Enclave.Attestation;

/// <summary>
/// SEV-SNP reports and TDX quotes through the kernel's configfs-tsm interface
/// (Linux Documentation/ABI/testing/configfs-tsm, <c>/sys/kernel/config/tsm/report</c>).
/// </summary>
/// <remarks>
/// <para>
/// Each request creates its own report directory (a unique name, so concurrent requests and other processes do not
/// share one), writes the 64 bytes of report data to <c>inblob</c>, reads <c>provider</c> ("sev_guest" or
/// "tdx_guest"), <c>generation</c>, <c>outblob</c> (the report or quote) and, for SEV-SNP, <c>auxblob</c> (the
/// certificate table: VCEK or VLEK, ASK, ARK), then re-reads <c>generation</c>. A different generation means another
/// writer changed the inputs between the reads, so the outblob may not be ours: the request is retried (up to
/// <see cref="MaxAttempts"/> times). The directory is removed afterwards.
/// </para>
/// <para>Thread safety: instances may be shared; each call works in its own report directory.</para>
/// </remarks>
public sealed class ConfigfsTsmEvidenceProvider : IEvidenceProvider
{
    /// <summary>Where the kernel mounts configfs-tsm reports.</summary>
    public const string DefaultRoot = "/sys/kernel/config/tsm/report";

    /// <summary>Reads of a report before giving up when its generation keeps moving.</summary>
    public const int MaxAttempts = 3;

    /// <summary>Report data length (SNP REPORT_DATA and TDX REPORTDATA are both 64 bytes).</summary>
    public const int ReportDataSize = 64;

    // TDX quotes are a few KiB and SNP certificate tables under 16 KiB; far above both, and a bound on a bad kernel.
    private const int MaxBlobBytes = 1 << 20;

    private readonly IReportDirectories _directories;
    private string? _tee;

    /// <summary>A provider for the configfs-tsm report directory at <paramref name="root"/>.</summary>
    public ConfigfsTsmEvidenceProvider(string root = DefaultRoot)
        : this(root, ConfigfsReportDirectories.Instance)
    {
    }

    internal ConfigfsTsmEvidenceProvider(string root, IReportDirectories directories)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = root;
        _directories = directories;
    }

    /// <summary>The configfs-tsm report directory.</summary>
    public string Root { get; }

    /// <summary>"sev-snp" or "tdx", from the kernel's <c>provider</c> attribute (read once, in a probe report).</summary>
    /// <exception cref="EvidenceException">The kernel names a provider we do not support, or the probe failed.</exception>
    public string Tee => _tee ??= WithReportDirectory(ReadTee);

    /// <summary>A report or quote binding <paramref name="reportData"/>, with the SNP certificates from auxblob.</summary>
    /// <exception cref="EvidenceException">The kernel refused or its answer was malformed, or the generation kept moving.</exception>
    public ValueTask<WorkerEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken)
    {
        if (reportData.Length != ReportDataSize)
        {
            throw new ArgumentException("Report data must be 64 bytes.", nameof(reportData));
        }

        // configfs I/O blocks while the kernel asks the firmware; keep it off the caller's thread.
        return new ValueTask<WorkerEvidence>(Task.Run(() => WithReportDirectory(dir => Collect(dir, reportData.Span, cancellationToken)), cancellationToken));
    }

    private static WorkerEvidence Collect(string directory, ReadOnlySpan<byte> reportData, CancellationToken cancellationToken)
    {
        for (int attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            WriteAttribute(directory, "inblob", reportData);
            string tee = ReadTee(directory);
            long before = ReadGeneration(directory);
            byte[] report = ReadAttribute(directory, "outblob");
            byte[] auxiliary = tee == "sev-snp" && File.Exists(Path.Combine(directory, "auxblob")) ? ReadAttribute(directory, "auxblob") : [];
            long after = ReadGeneration(directory);
            if (before != after)
            {
                continue;
            }

            if (report.Length == 0)
            {
                throw new EvidenceException("configfs-tsm: outblob is empty.");
            }

            IReadOnlyList<byte[]> certificates = [];
            if (auxiliary.Length > 0 && !SnpCertificateTable.TryParse(auxiliary, out certificates!, out string? error))
            {
                throw new EvidenceException("configfs-tsm: " + error);
            }

            return new WorkerEvidence(tee, report, certificates);
        }

        throw new EvidenceException($"configfs-tsm: the report generation changed during each of {MaxAttempts} reads (another writer).");
    }

    private static string ReadTee(string directory)
    {
        string provider = Encoding.ASCII.GetString(ReadAttribute(directory, "provider")).Trim();
        return provider switch
        {
            "sev_guest" => "sev-snp",
            "tdx_guest" => "tdx",
            _ => throw new EvidenceException("configfs-tsm: the provider attribute names an unsupported TSM."),
        };
    }

    private static long ReadGeneration(string directory)
    {
        string text = Encoding.ASCII.GetString(ReadAttribute(directory, "generation")).Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long generation)
            ? generation
            : throw new EvidenceException("configfs-tsm: the generation attribute is not a number.");
    }

    private static void WriteAttribute(string directory, string name, ReadOnlySpan<byte> value)
    {
        try
        {
            // configfs commits a binary attribute when the file is closed, so write it whole in one open.
            using var stream = new FileStream(Path.Combine(directory, name), FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            stream.Write(value);
        }
        catch (IOException e)
        {
            throw new EvidenceException($"configfs-tsm: writing {name} failed.", e);
        }
    }

    private static byte[] ReadAttribute(string directory, string name)
    {
        try
        {
            // Attributes report no useful length (configfs st_size is 0), so read to the end.
            using var stream = new FileStream(Path.Combine(directory, name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            using var buffer = new MemoryStream();
            byte[] chunk = new byte[16384];
            int read;
            while ((read = stream.Read(chunk)) > 0)
            {
                if (buffer.Length + read > MaxBlobBytes)
                {
                    throw new EvidenceException($"configfs-tsm: {name} is larger than {MaxBlobBytes} bytes.");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
        catch (IOException e)
        {
            throw new EvidenceException($"configfs-tsm: reading {name} failed.", e);
        }
    }

    private T WithReportDirectory<T>(Func<string, T> action)
    {
        string directory = Path.Combine(Root, string.Create(CultureInfo.InvariantCulture, $"cloister-{Environment.ProcessId}-{Guid.NewGuid():N}"));
        try
        {
            _directories.Create(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EvidenceException("configfs-tsm: creating a report directory failed.", e);
        }

        try
        {
            return action(directory);
        }
        finally
        {
            _directories.Remove(directory);
        }
    }
}
