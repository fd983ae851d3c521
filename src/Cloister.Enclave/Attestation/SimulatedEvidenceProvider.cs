using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Cloister.Attestation.Simulated;

namespace Cloister.Enclave.Attestation;

/// <summary>
/// Simulated evidence for machines without a TEE: <see cref="SimulatedAttester"/> evidence over the worker
/// measurement and the report data, signed by a P-256 key kept in the data directory.
/// </summary>
/// <remarks>
/// The key is <c>simulated-attester.key</c> (PKCS#8 PEM, mode 0600), created on first use; its public half is written
/// beside it as <c>simulated-attester.pub.pem</c> for policies to trust. Simulated evidence proves only that the holder
/// of that key signed it; verifiers accept it only where a policy allows "simulated". Dispose releases the key.
/// </remarks>
public sealed class SimulatedEvidenceProvider : IEvidenceProvider, IDisposable
{
    /// <summary>The private key's file name in the data directory.</summary>
    public const string KeyFileName = "simulated-attester.key";

    /// <summary>The public key's file name in the data directory.</summary>
    public const string PublicKeyFileName = "simulated-attester.pub.pem";

    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly ECDsa _key;
    private readonly SimulatedAttester _attester;
    private readonly byte[] _measurement;
    private readonly TimeProvider _time;

    private SimulatedEvidenceProvider(ECDsa key, byte[] measurement, string keyPath, TimeProvider time)
    {
        _key = key;
        _attester = new SimulatedAttester(key);
        _measurement = measurement;
        _time = time;
        KeyPath = keyPath;
        PublicKeyPem = key.ExportSubjectPublicKeyInfoPem();
    }

    /// <summary>"simulated".</summary>
    public string Tee => "simulated";

    /// <summary>The private key file.</summary>
    public string KeyPath { get; }

    /// <summary>The attester's public key (SubjectPublicKeyInfo PEM), as policies list it.</summary>
    public string PublicKeyPem { get; }

    /// <summary>Loads the attester key from <paramref name="dataDirectory"/>, creating it (and its public PEM) if absent.</summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <param name="workerMeasurement">The worker measurement (hex), reported as the evidence's measurement.</param>
    /// <param name="timeProvider">The clock for the evidence time (system clock if null).</param>
    /// <exception cref="EvidenceException">The key file is unreadable, not a P-256 key, or readable by group or others.</exception>
    public static SimulatedEvidenceProvider LoadOrCreate(string dataDirectory, string workerMeasurement, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        ArgumentException.ThrowIfNullOrEmpty(workerMeasurement);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The simulated attester key relies on POSIX file modes.");
        }

        byte[] measurement = Convert.FromHexString(workerMeasurement);
        string keyPath = Path.GetFullPath(Path.Combine(dataDirectory, KeyFileName));
        ECDsa key;
        try
        {
            if (!File.Exists(keyPath))
            {
                Create(keyPath);
            }

            key = Load(keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new EvidenceException($"simulated: the attester key file {keyPath} cannot be used ({e.GetType().Name}).", e);
        }

        var provider = new SimulatedEvidenceProvider(key, measurement, keyPath, timeProvider ?? TimeProvider.System);
        string publicPath = Path.Combine(Path.GetDirectoryName(keyPath)!, PublicKeyFileName);
        if (!File.Exists(publicPath) || File.ReadAllText(publicPath) != provider.PublicKeyPem)
        {
            File.WriteAllText(publicPath, provider.PublicKeyPem, Encoding.ASCII);
        }

        return provider;
    }

    /// <summary>Simulated evidence whose report data is <paramref name="reportData"/> (no nonce: the claims carry it).</summary>
    public ValueTask<WorkerEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken)
    {
        byte[] evidence = _attester.CreateEvidence(_measurement, reportData.Span, [], _time.GetUtcNow());
        return ValueTask.FromResult(new WorkerEvidence(Tee, evidence, []));
    }

    /// <summary>Releases the key.</summary>
    public void Dispose() => _key.Dispose();

    [UnsupportedOSPlatform("windows")]
    private static void Create(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        char[] pem = key.ExportPkcs8PrivateKeyPem().ToCharArray();
        byte[] bytes = Encoding.ASCII.GetBytes(pem);
        Array.Clear(pem);
        // A temporary name and a rename: the key file is either absent or complete.
        string temporary = path + ".tmp";
        File.Delete(temporary);
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            };
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created the key first; theirs is the one in use.
            File.Delete(temporary);
        }
    }

    [UnsupportedOSPlatform("windows")]
    private static ECDsa Load(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if ((File.GetUnixFileMode(handle) & GroupOrOther) != 0)
        {
            throw new EvidenceException($"simulated: the attester key file {path} is accessible to group or others; it must be mode 0600 (chmod 600 {path}).");
        }

        byte[] bytes = new byte[RandomAccess.GetLength(handle)];
        try
        {
            int read = 0;
            while (read < bytes.Length)
            {
                int n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
                if (n == 0)
                {
                    throw new EvidenceException($"simulated: the attester key file {path} was truncated while it was read.");
                }

                read += n;
            }

            var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(Encoding.ASCII.GetString(bytes));
                if (key.ExportParameters(includePrivateParameters: false).Curve.Oid?.Value != "1.2.840.10045.3.1.7")
                {
                    throw new EvidenceException($"simulated: the attester key file {path} does not hold a P-256 key.");
                }

                return key;
            }
            catch
            {
                key.Dispose();
                throw;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }
}
