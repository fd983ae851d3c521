using System.Text.Json.Serialization.Metadata;

namespace Cloister.Protocol;

/// <summary>
/// Encodes and decodes the frames of one protocol (source-generated JSON): its requests and its responses. A frame that
/// is not a valid message decodes to null, never an exception. One instance per protocol, in <see cref="Frames"/>.
/// </summary>
public sealed class MessageCodec<TRequest, TResponse>
    where TRequest : class
    where TResponse : class
{
    private readonly JsonTypeInfo<TRequest> _requests;
    private readonly JsonTypeInfo<TResponse> _responses;

    internal MessageCodec(JsonTypeInfo<TRequest> requests, JsonTypeInfo<TResponse> responses)
    {
        _requests = requests;
        _responses = responses;
    }

    /// <summary>Encode a request.</summary>
    public byte[] Encode(TRequest request) => FrameJson.Encode(request, _requests);

    /// <summary>Encode a response.</summary>
    public byte[] Encode(TResponse response) => FrameJson.Encode(response, _responses);

    /// <summary>Decode a request; null if the frame is not a valid request.</summary>
    public TRequest? DecodeRequest(ReadOnlySpan<byte> frame) => FrameJson.Decode(frame, _requests);

    /// <summary>Decode a response; null if the frame is not a valid response.</summary>
    public TResponse? DecodeResponse(ReadOnlySpan<byte> frame) => FrameJson.Decode(frame, _responses);
}

/// <summary>The codecs of Cloister's two frame protocols.</summary>
public static class Frames
{
    /// <summary>Router ↔ enclave worker.</summary>
    public static readonly MessageCodec<EnclaveRequest, EnclaveResponse> Enclave =
        new(ProtocolJsonContext.Default.EnclaveRequest, ProtocolJsonContext.Default.EnclaveResponse);

    /// <summary>Enclave worker ↔ key broker.</summary>
    public static readonly MessageCodec<BrokerRequest, BrokerResponse> Broker =
        new(BrokerJsonContext.Default.BrokerRequest, BrokerJsonContext.Default.BrokerResponse);
}
