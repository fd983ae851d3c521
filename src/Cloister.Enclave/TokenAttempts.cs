namespace Cloister.Enclave;

/// <summary>What one tokenize attempt does: draw at random, take a scan candidate, or give up.</summary>
internal readonly record struct AttemptPlan(AttemptKind Kind, long Index)
{
    public static AttemptPlan Random => new(AttemptKind.Random, 0);

    public static AttemptPlan Exhausted => new(AttemptKind.Exhausted, 0);

    public static AttemptPlan Scan(long index) => new(AttemptKind.Scan, index);
}

internal enum AttemptKind
{
    Random,
    Scan,
    Exhausted,
}

/// <summary>
/// Turns <see cref="Cloister.Protocol.TokenizeItem.Attempt"/> and <see cref="Cloister.Protocol.TokenizeItem.ScanStart"/>
/// into a token choice, so that the router's retry loop fills even a small token space exactly.
/// </summary>
/// <remarks>
/// <para>The router's loop for one item: draw <c>ScanStart</c> once (a random ulong); send
/// <c>Attempt = 0</c>; while the returned token is already taken in the tenant, resend the same item
/// with <c>Attempt + 1</c> and the same <c>ScanStart</c>; stop at the first token that inserts or at an
/// item error (<c>token-space-exhausted</c> means every token was tried).</para>
/// <para>With S = <see cref="Cloister.Protocol.TokenizeResult.SpaceSize"/>:</para>
/// <list type="bullet">
/// <item>Attempt 0..7: a uniformly random token (never the value).</item>
/// <item>S ≤ 4096, Attempt 8 .. 8+S−1: candidate number <c>(ScanStart mod S + Attempt − 8) mod S</c> of the
/// format's enumeration of all S tokens for the value, so these S attempts visit every token once. The
/// one candidate equal to the value is replaced by the next candidate; that token then comes up twice
/// in the scan, and its second offer is simply taken (the router needs no special case).
/// Attempt ≥ 8+S: <c>token-space-exhausted</c>.</item>
/// <item>S &gt; 4096: random draws up to Attempt 63, <c>token-space-exhausted</c> from Attempt 64 (64 collisions
/// in a space that large means the space is as good as full, or the router is looping).</item>
/// <item>fpe: the token is a function of the value, so only Attempt 0 answers; a later attempt is
/// <c>token-space-exhausted</c>.</item>
/// </list>
/// </remarks>
internal static class TokenAttempts
{
    /// <summary>Attempts answered with random draws before a small space is scanned.</summary>
    public const int RandomAttempts = 8;

    /// <summary>The largest space that is scanned exactly (up to 4096 more round trips per item).</summary>
    public const long ScanLimit = 4096;

    /// <summary>Attempts after which a large space is reported exhausted.</summary>
    public const int LargeSpaceAttempts = 64;

    public static AttemptPlan Plan(long spaceSize, int attempt, ulong scanStart)
    {
        if (attempt < RandomAttempts)
        {
            return AttemptPlan.Random;
        }

        if (spaceSize > ScanLimit)
        {
            return attempt < LargeSpaceAttempts ? AttemptPlan.Random : AttemptPlan.Exhausted;
        }

        long step = attempt - RandomAttempts;
        if (step >= spaceSize)
        {
            return AttemptPlan.Exhausted;
        }

        var start = (long)(scanStart % (ulong)spaceSize);
        return AttemptPlan.Scan((start + step) % spaceSize);
    }

    /// <summary>radix^positions, saturating at <see cref="long.MaxValue"/> as <c>SpaceSize</c> does.</summary>
    public static long SpaceSize(int radix, int positions)
    {
        var size = 1L;
        for (var i = 0; i < positions; i++)
        {
            if (size > long.MaxValue / radix)
            {
                return long.MaxValue;
            }

            size *= radix;
        }

        return size;
    }
}
