namespace Cloister.Attestation.Tdx;

/// <summary>
/// Verifies Intel TDX DCAP quotes (v4, v5 with TD1.0 or TD1.5 bodies): quote signature, QE report signature and
/// binding, PCK chain to the Intel SGX Root CA, collateral (TCB info, QE identity, CRLs) when given, and the policy
/// on TD attributes, MRTD, RTMRs and report data. Never throws for untrusted input.
/// </summary>
public sealed class TdxVerifier : IEvidenceVerifier
{
    public TeeType Type => TeeType.Tdx;

    public AttestationResult Verify(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at)
        => DcapAppraiser.Verify(TeeType.Tdx, evidence, policy, at);
}

/// <summary>
/// Verifies Intel SGX DCAP quotes (v3): the same DCAP checks as <see cref="TdxVerifier"/>, with the enclave's
/// MRENCLAVE as measurement and ATTRIBUTES.DEBUG as debug. Never throws for untrusted input.
/// </summary>
public sealed class SgxVerifier : IEvidenceVerifier
{
    public TeeType Type => TeeType.Sgx;

    public AttestationResult Verify(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at)
        => DcapAppraiser.Verify(TeeType.Sgx, evidence, policy, at);
}
