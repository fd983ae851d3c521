using System.Text;
using System.Text.Json;

namespace Cloister.Protocol.Tests;

/// <summary>The sealed invoke result written from a result's JSON text is the JSON a parsed result gives.</summary>
public sealed class SealedPayloadsTests
{
    [Theory]
    [InlineData("""{"a":[1,2.50,{"b":"x"}],"n":null}""")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("\"caf\u00e9 <b>\"")]
    public void EncodeInvokeResult_FromJsonText_IsTheJsonOfTheParsedResult_AndDecodesBack(string resultJson)
    {
        using var document = JsonDocument.Parse(resultJson);

        var raw = SealedPayloads.EncodeInvokeResult(resultJson, null, ["log"]);
        var parsed = SealedPayloads.Encode(new SealedInvokeResult(document.RootElement, null, ["log"]));
        var decoded = SealedPayloads.DecodeInvokeResult(raw);

        Assert.Equal(Encoding.UTF8.GetString(parsed), Encoding.UTF8.GetString(raw));
        Assert.Equal(resultJson, decoded!.Result!.Value.GetRawText());
        Assert.Equal(["log"], decoded.Logs);
    }

    [Fact]
    public void EncodeInvokeResult_OfAnError_LeavesTheResultOut()
    {
        var raw = SealedPayloads.EncodeInvokeResult(null, new SealedInvokeError("handler-error", "boom"), []);

        Assert.Equal("""{"error":{"code":"handler-error","detail":"boom"},"logs":[]}""", Encoding.UTF8.GetString(raw));
        Assert.Equal("boom", SealedPayloads.DecodeInvokeResult(raw)!.Error!.Detail);
    }

    [Fact]
    public void EncodeInvokeResult_OfTextThatIsNotJson_Throws()
        => Assert.ThrowsAny<JsonException>(() => SealedPayloads.EncodeInvokeResult("{\"a\":", null, []));
}
