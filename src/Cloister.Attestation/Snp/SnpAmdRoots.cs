using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Snp;

/// <summary>One built-in AMD path: the ARK and its ASK (VCEK path) or ASVK (VLEK path) for one product.</summary>
internal sealed class SnpAmdAnchor
{
    public SnpAmdAnchor(string product, SnpSigningKey signer, string intermediatePem, string arkPem, string arkSha256)
    {
        Product = product;
        Signer = signer;
        Intermediate = X509Certificate2.CreateFromPem(intermediatePem);
        Ark = X509Certificate2.CreateFromPem(arkPem);
        IntermediateDer = Intermediate.RawData;
        ArkDer = Ark.RawData;
        IntermediateSubject = Intermediate.SubjectName.RawData;
        IntermediateName = Intermediate.GetNameInfo(X509NameType.SimpleName, false);
        NotBefore = Max(SnpCertificates.NotBefore(Intermediate), SnpCertificates.NotBefore(Ark));
        NotAfter = Min(SnpCertificates.NotAfter(Intermediate), SnpCertificates.NotAfter(Ark));
        SelfCheckError = SelfCheck(arkSha256);
    }

    /// <summary>"Milan", "Genoa" or "Turin".</summary>
    public string Product { get; }

    public SnpSigningKey Signer { get; }

    public X509Certificate2 Intermediate { get; }

    public X509Certificate2 Ark { get; }

    public byte[] IntermediateDer { get; }

    public byte[] ArkDer { get; }

    public byte[] IntermediateSubject { get; }

    /// <summary>The ASK/ASVK common name, e.g. "SEV-Milan" or "SEV-VLEK-Milan".</summary>
    public string IntermediateName { get; }

    /// <summary>The window in which both the ARK and the intermediate are valid.</summary>
    public DateTimeOffset NotBefore { get; }

    public DateTimeOffset NotAfter { get; }

    /// <summary>Null when the built-in pair checked out at load (pinned ARK, self-signed ARK, intermediate signed by it).</summary>
    public string? SelfCheckError { get; }

    private string? SelfCheck(string arkSha256)
    {
        if (!string.Equals(SnpHex.ToHex(SHA256.HashData(ArkDer)), arkSha256, StringComparison.Ordinal))
        {
            return $"built-in ARK-{Product} does not match its pinned SHA-256";
        }

        using var arkKey = Ark.GetRSAPublicKey();
        if (arkKey is null)
        {
            return $"built-in ARK-{Product} has no RSA key";
        }

        if (!SnpCertificates.VerifyRsaPssSignature(ArkDer, arkKey, out var reason))
        {
            return $"built-in ARK-{Product} self-signature: {reason}";
        }

        if (!SnpCertificates.VerifyRsaPssSignature(IntermediateDer, arkKey, out reason))
        {
            return $"built-in {IntermediateName} signature by ARK-{Product}: {reason}";
        }

        return null;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}

/// <summary>The AMD roots built into the library, loaded and self-checked once.</summary>
internal static class SnpAmdRoots
{
    // SHA-256 of the ARK DERs, as published in the shared vectors' README (AMD root fingerprints).
    private const string ArkMilanSha256 = "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd";
    private const string ArkGenoaSha256 = "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1";
    private const string ArkTurinSha256 = "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a";

    private static readonly Lazy<SnpAmdAnchor[]> LazyAnchors = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    public static IReadOnlyList<SnpAmdAnchor> Anchors => LazyAnchors.Value;

    /// <summary>The anchor whose ASK/ASVK subject is <paramref name="issuer"/>, or null.</summary>
    public static SnpAmdAnchor? FindByIntermediateSubject(ReadOnlySpan<byte> issuer)
    {
        foreach (var anchor in LazyAnchors.Value)
        {
            if (issuer.SequenceEqual(anchor.IntermediateSubject))
            {
                return anchor;
            }
        }

        return null;
    }

    /// <summary>True when <paramref name="der"/> is one of the built-in ASK/ASVK/ARK certificates.</summary>
    public static bool IsBuiltIn(ReadOnlySpan<byte> der)
    {
        foreach (var anchor in LazyAnchors.Value)
        {
            if (der.SequenceEqual(anchor.IntermediateDer) || der.SequenceEqual(anchor.ArkDer))
            {
                return true;
            }
        }

        return false;
    }

    private static SnpAmdAnchor[] Load() =>
    [
        new("Milan", SnpSigningKey.Vcek, SnpAmdRootPems.MilanVcekIntermediate, SnpAmdRootPems.MilanVcekArk, ArkMilanSha256),
        new("Genoa", SnpSigningKey.Vcek, SnpAmdRootPems.GenoaVcekIntermediate, SnpAmdRootPems.GenoaVcekArk, ArkGenoaSha256),
        new("Turin", SnpSigningKey.Vcek, SnpAmdRootPems.TurinVcekIntermediate, SnpAmdRootPems.TurinVcekArk, ArkTurinSha256),
        new("Milan", SnpSigningKey.Vlek, SnpAmdRootPems.MilanVlekIntermediate, SnpAmdRootPems.MilanVlekArk, ArkMilanSha256),
    ];
}
