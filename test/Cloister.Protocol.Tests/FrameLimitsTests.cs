using System.Text;

namespace Cloister.Protocol.Tests;

public sealed class FrameLimitsTests
{
    [Fact]
    public void TheUnsplittableMessagesAtTheDocumentedMaxima_FitInOneFrame()
    {
        Assert.InRange(FrameLimits.WorstCaseCompletionBytes(), FrameLimits.MaxFunctionOutputBytes, FrameLimits.MaxFrameBytes);
        Assert.InRange(FrameLimits.WorstCaseSealedRevealBytes(), (long)FrameLimits.MaxBatchItems * FrameLimits.MaxValueBytes, FrameLimits.MaxFrameBytes);
        Assert.Equal(8 * 1024 * 1024, FrameLimits.PartBudget(FrameLimits.MaxFrameBytes));
    }

    [Theory]
    [InlineData("4111111111111111")]
    [InlineData("quote \" and backslash \\ and slash /")]
    [InlineData("\u0001\u0002\n\t\r\u001f")]
    [InlineData("héllo wörld, 日本語, emoji 😀, <script>&amp;")]
    [InlineData("\ud800 lone surrogate")]
    [InlineData("")]
    public void JsonStringBytes_IsAnUpperBoundOfTheEncodedValue(string value)
    {
        var frame = Frames.Enclave.Encode(new RevealResponse([new RevealResult(value, null)]));
        var empty = Frames.Enclave.Encode(new RevealResponse([new RevealResult("", null)]));

        Assert.True(frame.Length - empty.Length + 2 <= FrameLimits.JsonStringBytes(value));
        Assert.True(FrameLimits.JsonStringBytes(value) <= FrameLimits.WorstJsonStringBytes(Encoding.UTF8.GetByteCount(value)) || value.Contains('\ud800', StringComparison.Ordinal));
    }

    [Fact]
    public void Frames_CarryNonAsciiTextAsItsUtf8Bytes()
    {
        var value = new string('é', 1000);

        var frame = Frames.Enclave.Encode(new RevealResponse([new RevealResult(value, null)]));

        // Escaped as \u00E9 it would take 6,000 bytes; as UTF-8, 2,000.
        Assert.InRange(frame.Length, 2000, 2100);
    }

    [Theory]
    [InlineData("{\"score\":1,\"text\":\"a \\\"quoted\\\" word\"}")]
    [InlineData("null")]
    [InlineData("[1,2,3]")]
    [InlineData("\"just a string\"")]
    public void AResult_TravelsAsRawJson_AndComesBackTheSame(string json)
    {
        var frame = Frames.Enclave.Encode(new InvocationCompletedResponse("inv_1", json, null, true, [], []));

        Assert.Contains("\"resultJson\":" + json, Encoding.UTF8.GetString(frame), StringComparison.Ordinal);
        var decoded = Assert.IsType<InvocationCompletedResponse>(Frames.Enclave.DecodeResponse(frame));
        Assert.Equal(json, decoded.ResultJson);
    }

    [Fact]
    public void AFailedInvocation_HasNoResult()
    {
        var frame = Frames.Enclave.Encode(new InvocationCompletedResponse("inv_1", null, new EnclaveError("timeout", "t"), false, [], []));

        var decoded = Assert.IsType<InvocationCompletedResponse>(Frames.Enclave.DecodeResponse(frame));
        Assert.Null(decoded.ResultJson);
        Assert.DoesNotContain("resultJson", Encoding.UTF8.GetString(frame), StringComparison.Ordinal);
    }
}
