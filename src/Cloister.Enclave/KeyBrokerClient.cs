using System.Security.Cryptography;
using Cloister.Protocol;

namespace Cloister.Enclave;

/// <summary>The enclave's typed view of the key broker: encodes requests, sends them, decodes responses.</summary>
internal sealed class KeyBrokerClient(IFrameTransport transport)
{
    /// <summary>Send a request; transport failures and unreadable frames become <see cref="BrokerErrorResponse"/>.</summary>
    public async Task<BrokerResponse> SendAsync(BrokerRequest request, CancellationToken cancellationToken)
    {
        byte[] frame;
        try
        {
            frame = await transport.SendAsync(BrokerCodec.Encode(request), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            return Error("The key broker could not be reached.");
        }

        try
        {
            return BrokerCodec.DecodeResponse(frame) ?? Error("The key broker sent an unreadable response.");
        }
        finally
        {
            // An unwrap response carries raw keys; the decoded copies are zeroed by the keyring.
            CryptographicOperations.ZeroMemory(frame);
        }
    }

    private static BrokerErrorResponse Error(string detail) => new(new BrokerError(BrokerErrorCodes.Internal, detail));
}
