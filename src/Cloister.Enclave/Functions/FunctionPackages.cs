using System.Security.Cryptography;
using System.Text;
using Cloister.Functions;
using Cloister.Protocol;
using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Runner;

namespace Cloister.Enclave.Functions;

/// <summary>A verified, extracted function version, ready to be leased from the pool.</summary>
internal sealed class CachedFunction(FunctionManifest manifest, FunctionSandboxDefinition definition, string directory)
{
    public FunctionManifest Manifest { get; } = manifest;

    public FunctionSandboxDefinition Definition { get; } = definition;

    public FunctionKey Key => Definition.Key;

    /// <summary>The extracted bundle on the host.</summary>
    public string Directory { get; } = directory;

    /// <summary>Whether the version was retired (its files are gone): invocations still holding it do not start a sandbox.</summary>
    public bool IsRetired { get; private set; }

    /// <summary>The manifest's concurrency: invocations of this version beyond it wait.</summary>
    public SemaphoreSlim Concurrency { get; } = new(manifest.Limits.Concurrency, manifest.Limits.Concurrency);

    public void Retire() => IsRetired = true;
}

/// <summary>
/// Packages by (tenant, measurement): verifies a package against the measurement the router names,
/// extracts its bundle where sandboxes can read it, and forgets it on retirement. Thread-safe.
/// </summary>
/// <remarks>
/// Layout under the package directory: <c>runner/</c> (the language runners) and
/// <c>functions/&lt;sha-256 of the tenant id&gt;/&lt;measurement&gt;/</c>. Directories are 0755 and files
/// 0644 (0755 when executable) so the unprivileged sandbox uid can read them; nothing else is there.
/// </remarks>
internal sealed class FunctionPackages
{
    private readonly EnclaveFunctionOptions _options;
    private readonly string _functionsRoot;
    private readonly Dictionary<FunctionKey, CachedFunction> _cache = [];
    private readonly Lock _lock = new();
    private readonly Lock _installing = new();

    public FunctionPackages(EnclaveFunctionOptions options)
    {
        _options = options;
        CreateReadable(options.PackageDirectory);
        RunnerDirectory = Path.Combine(options.PackageDirectory, "runner");
        Runners.Extract(RunnerDirectory);
        File.SetUnixFileMode(RunnerDirectory, ReadableDirectory);
        _functionsRoot = Path.Combine(options.PackageDirectory, "functions");

        // Packages of an earlier process: the cache is in memory, so they are garbage.
        if (Directory.Exists(_functionsRoot))
        {
            Directory.Delete(_functionsRoot, recursive: true);
        }

        CreateReadable(_functionsRoot);
    }

    public string RunnerDirectory { get; }

    private static UnixFileMode ReadableDirectory =>
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public static FunctionKey KeyOf(string tenantId, string measurement) => new(tenantId, measurement);

    public CachedFunction? Find(FunctionKey key)
    {
        lock (_lock)
        {
            return _cache.GetValueOrDefault(key);
        }
    }

    /// <summary>Verifies and extracts <paramref name="package"/>; the error when it does not hash to the measurement or cannot be read.</summary>
    public (CachedFunction? Function, EnclaveError? Error) Install(string tenantId, FunctionRef function, FunctionPackage package)
    {
        var key = KeyOf(tenantId, function.Measurement);
        if (!TryVerify(package, function.Measurement, out var manifest, out var bundle, out var error))
        {
            return (null, new EnclaveError(FunctionErrorCodes.MeasurementMismatch, error));
        }

        // One extraction at a time: two invokes racing on a new version extract it once.
        lock (_installing)
        {
            if (Find(key) is { } cached)
            {
                return (cached, null);
            }

            var directory = Extract(tenantId, function.Measurement, bundle);
            var definition = FunctionSandboxes.Define(key, manifest, directory, RunnerDirectory, _options);
            definition.Validate();
            var installed = new CachedFunction(manifest, definition, directory);
            lock (_lock)
            {
                _cache[key] = installed;
            }

            return (installed, null);
        }
    }

    /// <summary>Forgets the package and deletes its files; the caller retires its sandboxes.</summary>
    public CachedFunction? Remove(FunctionKey key)
    {
        CachedFunction? removed;
        lock (_lock)
        {
            _cache.Remove(key, out removed);
        }

        removed?.Retire();

        var directory = removed?.Directory ?? PackagePath(key.TenantId, key.FunctionVersionId);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        return removed;
    }

    /// <summary>The cached versions of <paramref name="tenantId"/>.</summary>
    public IReadOnlyList<FunctionKey> KeysOf(string tenantId)
    {
        lock (_lock)
        {
            return [.. _cache.Keys.Where(key => key.TenantId == tenantId)];
        }
    }

    /// <summary>Forgets every package of <paramref name="tenantId"/> and deletes its directory; the caller retires their sandboxes first.</summary>
    public void RemoveTenant(string tenantId)
    {
        foreach (var key in KeysOf(tenantId))
        {
            Remove(key);
        }

        var directory = Path.GetDirectoryName(PackagePath(tenantId, "none"))!;
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static bool TryVerify(FunctionPackage package, string measurement, out FunctionManifest manifest, out FunctionBundle bundle, out string error)
    {
        manifest = null!;
        bundle = null!;
        if (package.ManifestJson is null || package.BundleTarGz is null)
        {
            error = "The package needs a manifest and a bundle.";
            return false;
        }

        using var stream = new MemoryStream(package.BundleTarGz, writable: false);
        if (!FunctionBundle.TryReadTarGz(stream, null, out var read, out var bundleError))
        {
            error = $"The package's bundle cannot be read ({bundleError}).";
            return false;
        }

        if (!FunctionManifestJson.TryParse(package.ManifestJson, out var parsed, out var manifestError)
            || !FunctionManifestJson.TryValidateAgainst(parsed, read, out manifestError))
        {
            error = $"The package's manifest is not valid ({manifestError}).";
            return false;
        }

        var actual = FunctionMeasurement.Compute(parsed, read);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(actual), Encoding.ASCII.GetBytes(measurement)))
        {
            error = "The package does not hash to the measurement of the function version.";
            return false;
        }

        manifest = parsed;
        bundle = read;
        error = string.Empty;
        return true;
    }

    private string Extract(string tenantId, string measurement, FunctionBundle bundle)
    {
        var final = PackagePath(tenantId, measurement);
        CreateReadable(Path.GetDirectoryName(final)!);
        var staging = final + ".staging-" + Guid.NewGuid().ToString("N");
        CreateReadable(staging);
        try
        {
            foreach (var file in bundle.Files)
            {
                WriteFile(staging, file);
            }

            if (Directory.Exists(final))
            {
                Directory.Delete(final, recursive: true);
            }

            Directory.Move(staging, final);
            return final;
        }
        catch
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }

            throw;
        }
    }

    private static void WriteFile(string root, BundleFile file)
    {
        // Paths are normalized by FunctionBundle: relative, no "." or ".." segments.
        var path = Path.Combine(root, file.Path.Replace('/', Path.DirectorySeparatorChar));
        var parent = Path.GetDirectoryName(path)!;
        var segments = Path.GetRelativePath(root, parent);
        if (segments != ".")
        {
            var current = root;
            foreach (var segment in segments.Split(Path.DirectorySeparatorChar))
            {
                current = Path.Combine(current, segment);
                CreateReadable(current);
            }
        }

        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        if (file.Executable)
        {
            mode |= UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        }

        using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode });
        stream.Write(file.Content.Span);
    }

    private string PackagePath(string tenantId, string measurement)
    {
        var tenant = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(tenantId)));
        return Path.Combine(_functionsRoot, tenant, measurement);
    }

    private static void CreateReadable(string directory)
    {
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, ReadableDirectory);
    }
}
