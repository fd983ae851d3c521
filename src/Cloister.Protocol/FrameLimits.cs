namespace Cloister.Protocol;

/// <summary>
/// The one place where the API's size limits and the router ↔ worker message limit are set, and where the second is
/// derived from the first (docs/design/partition.md, "Message sizes"). Every transport between the router and the
/// enclave worker (shared-memory rings, HTTP) carries messages up to <see cref="MaxFrameBytes"/>; the router splits
/// what it can split (token batches) into parts (<see cref="PartBudget"/>); what it cannot split (a sealed
/// reveal's one box, an invocation's completion) fits by construction at the documented maxima, and anything larger
/// fails its own request with <see cref="FrameTooLargeException"/>, never the transport.
/// </summary>
public static class FrameLimits
{
    /// <summary>The largest value the API accepts, in UTF-8 bytes (64 KiB).</summary>
    public const int MaxValueBytes = 64 * 1024;

    /// <summary>The most items in one batch (create, sealed create, sealed reveal).</summary>
    public const int MaxBatchItems = 1_000;

    /// <summary>The largest result a function may return (a manifest's <c>outputBytes</c> is at most this): 64 MiB.</summary>
    public const long MaxFunctionOutputBytes = 64L * 1024 * 1024;

    /// <summary>The most <c>ctx.log</c> lines an invocation keeps.</summary>
    public const int MaxLogLines = 100;

    /// <summary>The longest <c>ctx.log</c> line an invocation keeps, in characters.</summary>
    public const int MaxLogLineChars = 4096;

    /// <summary>
    /// An upper bound on the JSON list of tokens revealed into one sandbox that a completion carries for the audit log
    /// (8 MiB): a sandbox takes at most 1,024 values or 1 Mi characters of them (<c>SandboxSecrets</c>; a reveal beyond is
    /// refused with <c>limit-exceeded</c>), and a token is at most as long as its value, or a short random id.
    /// </summary>
    public const int MaxRevealedTokenListBytes = 8 * 1024 * 1024;

    /// <summary>
    /// The largest message between the router and the worker, either way: 256 MiB. The largest messages at the
    /// documented maxima are a completed invocation (a 64 MiB result embedded as raw JSON, its logs, its token list and
    /// its sealed form or encrypted copy, base64: about 4/3 of the rest) and a sealed reveal of 1,000 values of 64 KiB
    /// (about 4/3 × 64 MiB each way); <see cref="WorstCaseCompletionBytes"/> and <see cref="WorstCaseSealedRevealBytes"/>
    /// compute them and a test holds them below this.
    /// </summary>
    public const int MaxFrameBytes = 256 * 1024 * 1024;

    /// <summary>
    /// The router splits a token batch (create, sealed create) into parts whose estimated request and answer each stay
    /// below this share of the frame limit (8 MiB of 256 MiB), so that no batch, whatever its values, comes near the
    /// limit, and one large batch does not hold the worker's attention in one piece.
    /// </summary>
    public static long PartBudget(long maxFrameBytes) => maxFrameBytes / 32;

    /// <summary>What a JSON frame adds per item beyond its strings and byte arrays (property names, numbers, punctuation): a generous bound.</summary>
    public const int ItemOverheadBytes = 512;

    /// <summary>An AES-256-GCM envelope's bytes beyond the plaintext (version, nonce, tag): a generous bound.</summary>
    public const int EnvelopeOverheadBytes = 64;

    /// <summary>
    /// An upper bound on the bytes of <paramref name="value"/> as a JSON string in a frame, quotes included: frames use
    /// relaxed escaping, so printable characters are their UTF-8 bytes, <c>"</c> and <c>\</c> take 2 and control
    /// characters at most 6 (<c>\u0001</c>); a non-ASCII character is counted at 6, above its UTF-8 length.
    /// </summary>
    public static long JsonStringBytes(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        long bytes = 2;
        foreach (var c in value)
        {
            bytes += c switch
            {
                '"' or '\\' => 2,
                < ' ' => 6,
                < (char)0x7F => 1,
                _ => 6,
            };
        }

        return bytes;
    }

    /// <summary>The worst case of <see cref="JsonStringBytes"/> for a value of <paramref name="utf8Bytes"/> UTF-8 bytes.</summary>
    public static long WorstJsonStringBytes(long utf8Bytes) => 2 + (6 * utf8Bytes);

    /// <summary>The bytes of <paramref name="length"/> bytes as a base64 JSON string, quotes included.</summary>
    public static long Base64Bytes(long length) => 2 + (4 * ((length + 2) / 3));

    /// <summary>
    /// The largest completion frame of an invocation at the documented maxima: the result (raw JSON, at most
    /// <see cref="MaxFunctionOutputBytes"/>), the logs, the revealed tokens (each at most a maximal value's length, as
    /// JSON), and one encrypted or sealed copy of result, logs and error detail in base64.
    /// </summary>
    public static long WorstCaseCompletionBytes()
    {
        long logs = MaxLogLines * WorstJsonStringBytes(MaxLogLineChars);
        long tokens = MaxRevealedTokenListBytes;
        long sealedCopy = Base64Bytes(MaxFunctionOutputBytes + logs + WorstJsonStringBytes(MaxErrorDetailChars) + EnvelopeOverheadBytes);
        return MaxFunctionOutputBytes + logs + tokens + sealedCopy + (64 * 1024);
    }

    /// <summary>
    /// The largest sealed reveal frame at the documented maxima, for values and tokens made of characters JSON carries as
    /// they are (letters, digits, punctuation but quotes and backslashes, any non-ASCII text): the request carries the
    /// stored records (ciphertexts in base64), the answer one sealed box of tokens and values, in base64. Values and
    /// tokens full of control characters, quotes or backslashes take up to six times more and may then fail their own
    /// request (<see cref="FrameTooLargeException"/>); the router cannot split a sealed reveal, whose box the client sealed whole.
    /// </summary>
    public static long WorstCaseSealedRevealBytes()
    {
        long record = Base64Bytes(MaxValueBytes + EnvelopeOverheadBytes) + MaxTokenChars + 2 + ItemOverheadBytes;
        long answer = Base64Bytes((long)MaxBatchItems * (MaxValueBytes + 2 + MaxTokenChars + 2 + ItemOverheadBytes));
        return Math.Max((long)MaxBatchItems * record, answer) + (64 * 1024);
    }

    /// <summary>The longest error detail an invocation carries (the enclave cuts longer ones).</summary>
    public const int MaxErrorDetailChars = 4096;

    /// <summary>
    /// The longest token: random tokens are short, but a format-preserving token is as long as its value (at most
    /// <see cref="MaxValueBytes"/> characters of the printable ASCII digits and letters it is made of).
    /// </summary>
    public const int MaxTokenChars = MaxValueBytes;
}
