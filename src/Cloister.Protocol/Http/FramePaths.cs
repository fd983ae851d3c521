namespace Cloister.Protocol.Http;

/// <summary>The routes frames are posted to over HTTP: one home for the server that maps them and the clients that call them.</summary>
public static class FramePaths
{
    /// <summary>A listening enclave worker's frames (<c>cloister worker --listen</c>).</summary>
    public const string Worker = "/v1/enclave/frames";

    /// <summary>The key broker's frames (<c>cloister keybroker</c>).</summary>
    public const string Broker = "/v1/broker/frames";
}
