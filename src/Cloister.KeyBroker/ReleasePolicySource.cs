using System.Diagnostics.CodeAnalysis;
using Cloister.Attestation;
using Cloister.Attestation.Policy;

namespace Cloister.KeyBroker;

/// <summary>A loaded release policy with the verifier it needs (built once per load: it parses the attester key).</summary>
internal sealed record ReleasePolicy(AttestationPolicyFile File, AttestationVerifier Verifier);

/// <summary>
/// Where the key broker's release policy comes from: an attestation policy file (AttestationPolicyFile), reloaded
/// when its modification time or length changes, or a fixed policy (in-process partitions for tests and benchmarks).
/// </summary>
/// <remarks>
/// <c>cloister serve</c> rewrites its embedded default file once it learns the worker measurement, so the broker
/// checks the file's stamp before each attestation and release. A file that no longer parses is not applied: the
/// last good policy stays in force and <see cref="LastError"/> says why (the operator fixes the file; the broker
/// never falls back to something laxer). A file that group or others can write is refused like one that does not
/// parse. Thread-safe.
/// </remarks>
public sealed class ReleasePolicySource
{
    private readonly string? _path;
    private readonly Lock _lock = new();
    private ReleasePolicy _current;
    private (DateTime Modified, long Length) _stamp;

    private ReleasePolicySource(string? path, AttestationPolicyFile policy, (DateTime, long) stamp)
    {
        _path = path;
        _current = new ReleasePolicy(policy, policy.CreateVerifier());
        _stamp = stamp;
    }

    /// <summary>The policy file's path, or null for a fixed policy.</summary>
    public string? Path => _path;

    /// <summary>Why the latest change to the file was not applied, or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>The policy now in force (reloading the file first if it changed).</summary>
    public AttestationPolicyFile Policy => Current.File;

    internal ReleasePolicy Current
    {
        get
        {
            if (_path is null)
            {
                return _current;
            }

            var stamp = Stamp(_path);
            lock (_lock)
            {
                if (stamp != _stamp)
                {
                    _stamp = stamp;
                    if (TryLoad(_path, out var policy, out var error))
                    {
                        _current = new ReleasePolicy(policy, policy.CreateVerifier());
                        LastError = null;
                    }
                    else
                    {
                        LastError = error;
                    }
                }

                return _current;
            }
        }
    }

    /// <summary>Load <paramref name="path"/>; it is reloaded whenever it changes.</summary>
    /// <exception cref="KeyBrokerException">The file is missing or not a valid policy (the message is one line).</exception>
    public static ReleasePolicySource FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        var stamp = Stamp(full);
        if (!TryLoad(full, out var policy, out var error))
        {
            throw new KeyBrokerException(error);
        }

        return new ReleasePolicySource(full, policy, stamp);
    }

    /// <summary>Loads the policy unless group or others can write the file: whoever can write it decides who gets keys.</summary>
    private static bool TryLoad(string path, [NotNullWhen(true)] out AttestationPolicyFile? policy, [NotNullWhen(false)] out string? error)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path)
            && (File.GetUnixFileMode(path) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            policy = null;
            error = $"{path} is writable by group or others, and whoever can write it decides which workers get keys (chmod go-w {path})";
            return false;
        }

        return AttestationPolicyFile.TryLoad(path, out policy, out error);
    }

    /// <summary>A policy that never changes.</summary>
    public static ReleasePolicySource Fixed(AttestationPolicyFile policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new ReleasePolicySource(null, policy, default);
    }

    private static (DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }
}
