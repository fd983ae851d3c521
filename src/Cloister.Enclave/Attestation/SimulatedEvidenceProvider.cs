using System.Security.Cryptography;
using System.Text;
using Cloister.Attestation.Simulated;
using Cloister.Crypto;

namespace Cloister.Enclave.Attestation;

/// <summary>
/// Simulated evidence for machines without a TEE: signed by a local P-256 key (<c>simulated-attester.key</c>),
/// always reported as "simulated", and accepted only by a policy that opts into it and names the key.
/// </summary>
/// <remarks>
/// It proves only that the holder of the attester key vouched for the measurement and report data; anyone who
/// can read the key file can forge it. The launch measurement in the evidence is the worker measurement.
/// The provider owns the key and disposes it with itself.
/// </remarks>
public sealed class SimulatedEvidenceProvider : IEvidenceProvider, IDisposable
{
    /// <summary>The attester's private key file in the data directory (PKCS#8 PEM, mode 0600).</summary>
    public const string KeyFileName = "simulated-attester.key";

    /// <summary>The attester's public key file written beside it (SPKI PEM, mode 0600 like the rest of the data directory), for the policy's simulatedAttesterKey.</summary>
    public const string PublicKeyFileName = "simulated-attester.pub.pem";

    private readonly ECDsa _key;
    private readonly SimulatedAttester _attester;
    private readonly byte[] _measurement;
    private readonly TimeProvider _time;

    /// <summary>Evidence signed with <paramref name="key"/> (P-256, taken over) for <paramref name="workerMeasurement"/> (hex).</summary>
    public SimulatedEvidenceProvider(ECDsa key, string workerMeasurement, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(workerMeasurement);
        _attester = new SimulatedAttester(key);
        _key = key;
        _measurement = Convert.FromHexString(workerMeasurement);
        _time = time ?? TimeProvider.System;
        PublicKeyPem = key.ExportSubjectPublicKeyInfoPem();
    }

    /// <inheritdoc />
    public string Tee => "simulated";

    /// <summary>The attester's public key (SPKI PEM), as a policy's simulatedAttesterKey names it.</summary>
    public string PublicKeyPem { get; }

    /// <summary>Load <c>simulated-attester.key</c> from <paramref name="dataDirectory"/>, creating it (and the public key file) if absent.</summary>
    /// <exception cref="InvalidOperationException">The key file is unreadable, not a P-256 key, or readable by group or others.</exception>
    public static SimulatedEvidenceProvider LoadOrCreate(string dataDirectory, string workerMeasurement)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Path.Combine(dataDirectory, KeyFileName);
        var key = ECDsa.Create();
        try
        {
            if (File.Exists(path))
            {
                Load(key, path);
            }
            else
            {
                key.GenerateKey(ECCurve.NamedCurves.nistP256);
                Create(key, path);
            }

            if (key.KeySize != 256)
            {
                throw new InvalidOperationException($"{path} is not a P-256 key.");
            }

            // Rewritten only when it differs, so workers sharing a data directory do not race on it. Owner-only like
            // every file of the data directory; one an earlier version wrote 0644 is narrowed.
            var publicPath = Path.Combine(dataDirectory, PublicKeyFileName);
            var publicPem = key.ExportSubjectPublicKeyInfoPem() + "\n";
            if (!File.Exists(publicPath) || File.ReadAllText(publicPath) != publicPem)
            {
                OwnerOnlyFile.Write(publicPath, Encoding.ASCII.GetBytes(publicPem));
            }
            else
            {
                OwnerOnlyFile.Restrict(publicPath);
            }

            return new SimulatedEvidenceProvider(key, workerMeasurement);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask<WorkerEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken)
    {
        var evidence = _attester.CreateEvidence(_measurement, reportData.Span, [], _time.GetUtcNow());
        return ValueTask.FromResult(new WorkerEvidence(Tee, evidence, []));
    }

    /// <summary>Dispose the attester key.</summary>
    public void Dispose() => _key.Dispose();

    private static void Load(ECDsa key, string path)
    {
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
        {
            throw new InvalidOperationException($"{path} is readable or writable by group or others; it must be mode 0600 (chmod 600 {path}).");
        }

        try
        {
            key.ImportFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new InvalidOperationException($"{path} is not a PKCS#8 PEM private key.", e);
        }
    }

    private static void Create(ECDsa key, string path)
    {
        // Atomic and never overwriting: if another worker created the key first, use theirs.
        var pem = Encoding.UTF8.GetBytes(key.ExportPkcs8PrivateKeyPem());
        try
        {
            if (!OwnerOnlyFile.TryCreate(path, pem))
            {
                Load(key, path);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pem);
        }
    }
}
