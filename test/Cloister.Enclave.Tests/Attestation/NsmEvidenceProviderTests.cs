using System.Text;
using Cloister.Attestation;
using Cloister.Enclave.Attestation;

namespace Cloister.Enclave.Tests.Attestation;

/// <summary>
/// The NSM device exists only inside a Nitro enclave; here we check the CBOR we send and parse, and that the ioctl
/// path reports a device that is missing or is not the NSM.
/// </summary>
public sealed class NsmEvidenceProviderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-nsm-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Request_IsTheNsmApiAttestationRequest()
    {
        byte[] userData = [.. Enumerable.Range(0, 64).Select(i => (byte)i)];

        byte[] request = NsmMessages.EncodeAttestationRequest(userData);

        // {"Attestation": {"user_data": h'00..3f', "nonce": null, "public_key": null}}, serde_cbor's encoding.
        string expected = "a1" + "6b" + Hex("Attestation") + "a3"
            + "69" + Hex("user_data") + "5840" + Convert.ToHexStringLower(userData)
            + "65" + Hex("nonce") + "f6"
            + "6a" + Hex("public_key") + "f6";
        Assert.Equal(expected, Convert.ToHexStringLower(request));
    }

    [Fact]
    public void Response_YieldsTheRecordedAttestationDocument()
    {
        byte[] document = RecordedEvidence.NitroDocument;

        Assert.True(NsmMessages.TryParseAttestationResponse(Response(document), out byte[]? parsed, out _));

        Assert.Equal(document, parsed);
        // Still the real signed document (its user_data is the recorder's, not ours); EXPECTED.md gives this time.
        AttestationResult result = AttestationVerifiers.CreateDefault().Verify(
            new EvidenceBundle(TeeType.Nitro, parsed, []), new AppraisalPolicy(), new DateTimeOffset(2022, 10, 13, 9, 0, 0, TimeSpan.Zero));
        Assert.Equal(Verdict.Affirming, result.Verdict);
    }

    [Fact]
    public void ErrorResponse_NamesTheNsmErrorCode()
    {
        byte[] response = Convert.FromHexString("a1" + "65" + Hex("Error") + "6f" + Hex("InvalidArgument"));

        Assert.False(NsmMessages.TryParseAttestationResponse(response, out _, out string? error));

        Assert.Equal("nsm: the module answered error InvalidArgument", error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a0")]
    [InlineData("a2")]
    [InlineData("f6")]
    [InlineData("a1" + "6b" + "4174746573746174696f6e" + "a1" + "68" + "646f63756d656e74" + "40")]
    [InlineData("a1" + "6b" + "4174746573746174696f6e" + "a1" + "68" + "646f63756d656e74" + "5b" + "ffffffffffffffff")]
    [InlineData("a1" + "6b" + "4174746573746174696f6e" + "a1" + "68" + "646f63756d656e75" + "4101")]
    [InlineData("a1" + "6b" + "4174746573746174696f6e" + "a1" + "68" + "646f63756d656e74" + "4101" + "00")]
    [InlineData("a1" + "6b" + "4174746573746174696f6e" + "a1" + "68" + "646f63756d656e74" + "6101")]
    [InlineData("a1" + "6b" + "4465736372697074696f6e" + "a1" + "68" + "646f63756d656e74" + "4101")]
    [InlineData("a1" + "65" + "4572726f72" + "62" + "c328")]
    public void MalformedResponses_AreRefused(string hex)
    {
        Assert.False(NsmMessages.TryParseAttestationResponse(Convert.FromHexString(hex), out byte[]? document, out string? error));
        Assert.Null(document);
        Assert.StartsWith("nsm:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Response_EveryTruncationIsRefused_AndMutationsNeverThrow()
    {
        byte[] response = Response(RecordedEvidence.NitroDocument);
        for (int length = 0; length < 64; length++)
        {
            Assert.False(NsmMessages.TryParseAttestationResponse(response.AsMemory(0, length), out _, out _));
        }

        Assert.False(NsmMessages.TryParseAttestationResponse(response.AsMemory(0, response.Length - 1), out _, out _));
        var random = new Random(7);
        for (int i = 0; i < 5000; i++)
        {
            byte[] mutated = (byte[])response.Clone();
            mutated[random.Next(32)] = (byte)random.Next(256);
            if (NsmMessages.TryParseAttestationResponse(mutated, out byte[]? document, out _))
            {
                // Only a change inside the document itself can still parse; the framing admits no other reading.
                Assert.Equal(RecordedEvidence.NitroDocument.Length, document.Length);
            }
        }
    }

    [Fact]
    public async Task MissingDevice_IsAnEvidenceError()
    {
        var provider = new NsmEvidenceProvider(Path.Combine(_directory, "nsm"));

        var error = await Assert.ThrowsAsync<EvidenceException>(() => provider.GetEvidenceAsync(new byte[64], CancellationToken.None).AsTask());

        Assert.Contains("opening the device", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotAnNsmDevice_TheIoctlFails()
    {
        string path = Path.Combine(_directory, "nsm");
        File.WriteAllBytes(path, []);
        var provider = new NsmEvidenceProvider(path);

        var error = await Assert.ThrowsAsync<EvidenceException>(() => provider.GetEvidenceAsync(new byte[64], CancellationToken.None).AsTask());

        // ENOTTY: a regular file does not take the NSM ioctl.
        Assert.Contains("errno 25", error.Message, StringComparison.Ordinal);
        Assert.Equal("nitro", provider.Tee);
    }

    private static byte[] Response(byte[] document)
    {
        string length = document.Length <= 0xffff ? "59" + document.Length.ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : throw new ArgumentException("too long");
        return Convert.FromHexString("a1" + "6b" + Hex("Attestation") + "a1" + "68" + Hex("document") + length + Convert.ToHexStringLower(document));
    }

    private static string Hex(string text) => Convert.ToHexStringLower(Encoding.ASCII.GetBytes(text));
}
