using System.Text;
using Cloister.Protocol;

namespace Cloister.Enclave.Tests;

public sealed class FrameHandlingTests : IDisposable
{
    private readonly TestVault _vault = new();

    public void Dispose() => _vault.Dispose();

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("\u00ff\u00fe")]
    [InlineData("{\"tenantId\":\"t\"}")]
    [InlineData("{\"$op\":\"detonate\",\"tenantId\":\"t\"}")]
    [InlineData("{\"$op\":\"tokenize\",\"keyVersion\":1,\"items\":[]}")]
    [InlineData("{\"$op\":\"tokenize\",\"tenantId\":\"\",\"keyVersion\":1,\"items\":[]}")]
    [InlineData("{\"$op\":\"tokenize\",\"tenantId\":\"t\",\"keyVersion\":1}")]
    [InlineData("{\"$op\":\"tokenize\",\"tenantId\":\"t\",\"keyVersion\":0,\"items\":[]}")]
    [InlineData("{\"$op\":\"tokenize\",\"tenantId\":\"t\",\"keyVersion\":1,\"items\":[null]}")]
    [InlineData("{\"$op\":\"tokenize\",\"tenantId\":\"t\",\"keyVersion\":1,\"items\":[{\"format\":\"pan\"}]}")]
    [InlineData("{\"$op\":\"tokenize\",\"tenantId\":\"t\",\"keyVersion\":1,\"items\":[{\"value\":\"v\",\"format\":\"pan\",\"attempt\":-1}]}")]
    [InlineData("{\"$op\":\"tokenize\",\"tenantId\":\"t\",\"keyVersion\":\"one\",\"items\":[]}")]
    [InlineData("{\"$op\":\"reveal\",\"tenantId\":\"t\",\"items\":[{\"format\":\"random\",\"keyVersion\":1}]}")]
    [InlineData("{\"$op\":\"reencrypt\",\"tenantId\":\"t\",\"toVersion\":0,\"items\":[]}")]
    [InlineData("{\"$op\":\"fingerprint\",\"tenantId\":\"t\"}")]
    [InlineData("{\"$op\":\"fingerprint\",\"tenantId\":\"t\",\"value\":\"v\",\"keys\":[null]}")]
    [InlineData("{\"$op\":\"fingerprint\",\"tenantId\":\"t\",\"value\":\"v\",\"keys\":[{\"purpose\":\"data\",\"version\":1}]}")]
    public async Task MalformedFrames_AreBadRequest(string frame)
    {
        var response = await SendRawAsync(Encoding.UTF8.GetBytes(frame));

        Assert.Equal(EnclaveErrorCodes.BadRequest, Assert.IsType<EnclaveErrorResponse>(response).Error.Code);
    }

    [Fact]
    public async Task MutatedFrames_AlwaysGetAResponse_NeverAnException()
    {
        var tenant = await _vault.CreateTenantAsync();
        var keys = await _vault.WrappedKeys.GetWrappedKeysAsync(tenant, CancellationToken.None);
        var stored = await _vault.TokenizeAsync(tenant, "4111111111111111", "pan");
        EnclaveRequest[] seeds =
        [
            new TokenizeRequest(1, [new TokenizeItem("4111 1111 1111 1111", "pan", null, "card", true, 9, 77), new TokenizeItem("123-45-6789", "fpe", "alnum", "ssn", true)]) { TenantId = tenant, Keys = keys },
            new RevealRequest([TestVault.Stored(stored, "pan"), new RevealItem("123-45-6789", "fpe", "digits", 1, null)]) { TenantId = tenant },
            new ReencryptRequest(1, [TestVault.Stored(stored, "pan")]) { TenantId = tenant },
            new FingerprintRequest("x") { TenantId = tenant, Keys = keys },
            new RotateDataKeyRequest(2) { TenantId = tenant },
        ];
        var random = new Random(20240601);

        foreach (var seed in seeds)
        {
            var frame = Frames.Enclave.Encode(seed);
            for (var i = 0; i < 300; i++)
            {
                var mutated = Mutate(frame, random);

                var response = await SendRawAsync(mutated);

                Assert.NotNull(response);
                if (response is EnclaveErrorResponse error)
                {
                    Assert.NotEqual(EnclaveErrorCodes.Internal, error.Error.Code);
                }
            }
        }
    }

    [Fact]
    public async Task ErrorsNeverContainTheValue()
    {
        const string Canary = "CANARY-zq7x";
        var tenant = await _vault.CreateTenantAsync();
        var other = await _vault.CreateTenantAsync();
        string[] values = [Canary, Canary + "-12345", "4111-" + Canary, Canary + new string('9', 80), Canary + "\uD800"];
        string[] formats = ["random", "numeric", "pan", "pan-last4", "ssn-last4", "fpe", Canary];
        var items = (from value in values
                     from format in formats
                     from alphabet in new[] { null, "digits", Canary }
                     select new TokenizeItem(value, format, alphabet, Canary, true)).ToList();
        items.Add(new TokenizeItem(Canary, "random", null, "c", false, Attempt: 64));
        items.Add(new TokenizeItem(Canary, "fpe", "alnum", "c", false, Attempt: 1));

        var tokenizeFrame = await SendFrameAsync(new TokenizeRequest(1, items) { TenantId = tenant });
        var good = await _vault.TokenizeAsync(tenant, Canary, "random");
        var otherToken = await _vault.TokenizeAsync(tenant, "something else", "random");
        var revealFrame = await SendFrameAsync(new RevealRequest(
        [
            new RevealItem(otherToken.Token!, "random", null, 1, good.Ciphertext),
            new RevealItem(good.Token!, "random", null, 2, good.Ciphertext),
            new RevealItem(good.Token!, Canary, null, 1, good.Ciphertext),
        ]) { TenantId = tenant });
        var otherTenantFrame = await SendFrameAsync(new RevealRequest([TestVault.Stored(good, "random")]) { TenantId = other });
        var reencryptFrame = await SendFrameAsync(new ReencryptRequest(1, [new RevealItem(otherToken.Token!, "random", null, 1, good.Ciphertext)]) { TenantId = tenant });

        var tokenized = Assert.IsType<TokenizeResponse>(Frames.Enclave.DecodeResponse(tokenizeFrame));
        Assert.Contains(tokenized.Results, result => result.Error is not null);
        foreach (var result in tokenized.Results.Where(result => result.Error is not null))
        {
            Assert.Null(result.Token);
            Assert.DoesNotContain(Canary, result.Error!.Detail, StringComparison.Ordinal);
        }

        foreach (var frame in new[] { revealFrame, otherTenantFrame, reencryptFrame })
        {
            Assert.DoesNotContain(Canary, Encoding.UTF8.GetString(frame), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task BrokenBroker_IsKeyUnavailable_AndItsExceptionTextIsNotPassedOn()
    {
        const string Canary = "CANARY-broker-zq7x";
        using var enclave = new EnclaveHost(new ThrowingTransport(Canary));
        var transport = new InProcessTransport(enclave);

        var frame = await transport.SendAsync(Frames.Enclave.Encode(new CreateTenantKeysRequest { TenantId = "t" }), CancellationToken.None);

        var response = Assert.IsType<EnclaveErrorResponse>(Frames.Enclave.DecodeResponse(frame));
        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, response.Error.Code);
        Assert.DoesNotContain(Canary, Encoding.UTF8.GetString(frame), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_PropagatesToTheCaller()
    {
        using var enclave = new EnclaveHost(new ThrowingTransport("unused", cancel: true));
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await enclave.HandleAsync(Frames.Enclave.Encode(new CreateTenantKeysRequest { TenantId = "t" }), cancellation.Token));
    }

    internal static byte[] Mutate(byte[] frame, Random random)
    {
        var bytes = frame.ToList();
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits && bytes.Count > 0; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.RemoveAt(at);
                    break;
                case 2:
                    bytes.Insert(at, (byte)"{}[]\",:0-9ae\\"[random.Next(13)]);
                    break;
                default:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 16)));
                    break;
            }
        }

        return [.. bytes];
    }

    private async Task<EnclaveResponse?> SendRawAsync(byte[] frame)
        => Frames.Enclave.DecodeResponse(await _vault.EnclaveTransport.SendAsync(frame, CancellationToken.None));

    // Through the client, so that KeysRequired is answered, but keeping the response frame's bytes.
    private async Task<byte[]> SendFrameAsync(EnclaveRequest request)
    {
        var keys = await _vault.WrappedKeys.GetWrappedKeysAsync(request.TenantId, CancellationToken.None);
        return await _vault.EnclaveTransport.SendAsync(Frames.Enclave.Encode(request with { Keys = keys }), CancellationToken.None);
    }

    private sealed class ThrowingTransport(string message, bool cancel = false) : IFrameTransport
    {
        public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return cancel ? throw new OperationCanceledException(message) : throw new InvalidOperationException(message);
        }
    }
}
