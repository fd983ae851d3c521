using System.Security.Cryptography;
using Cloister.Attestation.Nitro;
using Cloister.Attestation.Simulated;
using Cloister.Attestation.Snp;
using Cloister.Attestation.Tdx;

namespace Cloister.Attestation;

/// <summary>The verifiers this library ships, assembled into one <see cref="AttestationVerifier"/>.</summary>
public static class AttestationVerifiers
{
    /// <summary>
    /// SEV-SNP, TDX, SGX and Nitro; plus simulated evidence when <paramref name="simulatedAttesterKey"/>
    /// (the attester's public key) is given — and even then only a policy that allows it accepts it.
    /// </summary>
    public static AttestationVerifier CreateDefault(ECDsa? simulatedAttesterKey = null)
    {
        List<IEvidenceVerifier> verifiers = [new SnpVerifier(), new TdxVerifier(), new SgxVerifier(), new NitroVerifier()];
        if (simulatedAttesterKey is not null)
        {
            verifiers.Add(new SimulatedVerifier(simulatedAttesterKey));
        }

        return new AttestationVerifier(verifiers);
    }
}
