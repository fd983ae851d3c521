using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Hosting;
using Cloister.Hosting.CommandLine;
using Cloister.Crypto;

namespace Cloister.Router.Supervision;

/// <summary>What <see cref="DefaultPolicyFile.Ensure"/> did.</summary>
/// <param name="Path">The policy file.</param>
/// <param name="Action">"created", "updated", "unchanged" (serve's own file) or "operator" (not serve's: left alone).</param>
/// <param name="AllowsSimulated">Whether the policy accepts simulated evidence.</param>
internal sealed record PolicyOutcome(string Path, string Action, bool AllowsSimulated);

/// <summary>
/// The embedded single-node attestation policy (<c>attestation-policy.json</c> in the data directory): written by
/// <c>serve</c> when absent, with an explicit opt-in for simulated evidence so that the quickstart works on a
/// machine without a TEE; its worker pin follows the worker's measurement. A file without serve's
/// <c>generatedBy</c> marker is an operator's and is never rewritten. The file is mode 0600.
/// </summary>
internal static class DefaultPolicyFile
{
    /// <summary>The policy file's name in the data directory.</summary>
    public const string FileName = DataFiles.AttestationPolicy;

    /// <summary>The worker writes the simulated attester's public key here (the private key never leaves it).</summary>
    public const string SimulatedAttesterPublicKeyFile = "simulated-attester.pub.pem";

    /// <summary>
    /// Before the broker starts (it needs a policy file): the embedded default with no worker pinned yet when there
    /// is no file. <see cref="Ensure"/> pins the worker once it reported its measurement; the broker reloads the file.
    /// </summary>
    /// <remarks>An existing file (serve's or the operator's) that group or others can reach is narrowed to 0600.</remarks>
    public static void EnsureExists(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            Write(path, Default().Serialize());
        }

        OwnerOnlyFile.Restrict(path);
    }

    /// <summary>Pins <paramref name="workerMeasurement"/> (and the simulated attester's key) in serve's own policy file.</summary>
    public static PolicyOutcome Ensure(string dataDirectory, string workerMeasurement)
    {
        var path = Path.Combine(dataDirectory, FileName);
        var publicKeyPath = Path.Combine(dataDirectory, SimulatedAttesterPublicKeyFile);
        var publicKey = File.Exists(publicKeyPath) ? File.ReadAllText(publicKeyPath).Trim() + "\n" : null;
        AttestationPolicyFile? existing = null;
        if (File.Exists(path))
        {
            if (!AttestationPolicyFile.TryLoad(path, out existing, out var error))
            {
                throw new CliException($"{path}: {error}");
            }

            if (existing.GeneratedBy != AttestationPolicyFile.EmbeddedDefaultMarker)
            {
                return new PolicyOutcome(path, "operator", AllowsSimulated(existing));
            }
        }

        // AcceptWarnings is set again for files an earlier version wrote without it.
        var policy = (existing ?? Default()) with
        {
            AcceptWarnings = true,
            Workers = [new WorkerRule(workerMeasurement, [AttestationPolicyFile.Any])],
            SimulatedAttesterKey = publicKey ?? existing?.SimulatedAttesterKey,
        };
        var json = policy.Serialize();
        if (existing is not null && existing.Serialize() == json)
        {
            return new PolicyOutcome(path, "unchanged", AllowsSimulated(policy));
        }

        Write(path, json);
        return new PolicyOutcome(path, existing is null ? "created" : "updated", AllowsSimulated(policy));
    }

    /// <summary>Replaces the file in one rename (the broker never reads half of it), mode 0600: whoever can write it decides who gets keys.</summary>
    private static void Write(string path, string json) => OwnerOnlyFile.Write(path, System.Text.Encoding.UTF8.GetBytes(json));

    // "simulated" is the explicit opt-in: without it, evidence signed by the local simulated attester is refused.
    // Warnings pass too, so that the quickstart also runs on TDX, whose quotes come without collateral.
    private static AttestationPolicyFile Default() => new()
    {
        GeneratedBy = AttestationPolicyFile.EmbeddedDefaultMarker,
        AcceptWarnings = true,
        Appraisal = new AppraisalPolicy
        {
            Id = "cloister-embedded-default",
            AllowedTees = new HashSet<TeeType> { TeeType.SevSnp, TeeType.Tdx, TeeType.Nitro, TeeType.Simulated },
        },
    };

    private static bool AllowsSimulated(AttestationPolicyFile policy) => policy.Appraisal.AllowedTees.Contains(TeeType.Simulated);
}
