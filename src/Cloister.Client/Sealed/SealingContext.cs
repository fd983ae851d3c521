using Cloister.Attestation.Policy;
using Cloister.Crypto.Hpke;

namespace Cloister.Client.Sealed;

/// <summary>An attestation the client verified, under which policy and when (a <see cref="TimeProvider"/> timestamp, immune to clock steps), and the sealing session it has with that worker.</summary>
internal sealed class AttestedWorker(AttestationPolicyFile policy, VerifiedWorker worker, long verifiedAt)
{
    private SealedSession? _session;

    public AttestationPolicyFile Policy { get; } = policy;

    public VerifiedWorker Worker { get; } = worker;

    public long VerifiedAt { get; } = verifiedAt;

    /// <summary>The session the worker confirmed by answering a request that started it.</summary>
    public SealedSession? Session
    {
        get => Volatile.Read(ref _session);
        set => Volatile.Write(ref _session, value);
    }
}

/// <summary>
/// Seals the requests of one call: in the worker's session when the client has one (no key agreement), else to the
/// worker's attested key, which starts a session that this call's later boxes (a batch's other items) and, once the
/// worker has answered, the client's next calls use.
/// </summary>
internal sealed class SealingContext(VerifiedWorker worker, SealedSession? session)
{
    /// <summary>The verified worker the boxes go to.</summary>
    public VerifiedWorker Worker { get; } = worker;

    /// <summary>The session this call's first HPKE box started, if any.</summary>
    public SealedSession? Started { get; private set; }

    /// <summary>Seals one request box; <paramref name="replyKey"/> opens its answer (the caller disposes it).</summary>
    public byte[] Seal(string purpose, byte[] aad, ReadOnlySpan<byte> plaintext, out SealedReplyKey replyKey)
    {
        if ((session ?? Started) is { } current)
        {
            return current.Seal(purpose, aad, plaintext, out replyKey);
        }

        var box = SealedBox.Seal(Worker.PublicKey, purpose, aad, plaintext, out replyKey, out var started);
        Started = started;
        return box;
    }
}
