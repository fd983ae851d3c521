using System.Security.Cryptography;
using Cloister.Crypto.Hpke;
using Cloister.Protocol;

namespace Cloister.KeyBroker;

/// <summary>
/// The key broker's side of its frame boundary: generates tenant keys and returns them wrapped by the
/// master key, and releases them, sealed, to attested enclave workers only.
/// </summary>
/// <remarks>
/// <para>Release follows the Confidential Containers Trustee exchange: <see cref="ChallengeRequest"/> → a nonce;
/// <see cref="AttestRequest"/> (evidence binding SHA-512 of claims that carry the nonce and the worker's HPKE
/// public key) → appraised against the <see cref="ReleasePolicySource"/> → a session; <see cref="UnwrapKeysRequest"/>
/// with the session → the keys sealed (HPKE SealedBox, purpose <see cref="BrokerKeySet.SealPurpose"/>, associated
/// data binding tenant and session) to the attested public key. Every release and refusal is appended to
/// <c>keybroker-audit.jsonl</c> in the data directory before the response leaves.</para>
/// <para>Crypto-shredding: <see cref="ShredKeysRequest"/> (from an attested worker, when a tenant is deleted or a data-key
/// version retired) is recorded durably (<c>keybroker-shredded.jsonl</c>), and from then on every unwrap of that tenant,
/// or naming that version, is refused with <c>keys-shredded</c>, whoever presents the wrapped keys.</para>
/// <para>Never throws to the transport: malformed frames, invalid fields and bugs all become
/// <see cref="BrokerErrorResponse"/>, whose details name codes and checks, never key bytes or evidence. Keys are
/// 256-bit and zeroed as soon as they are wrapped or sealed.</para>
/// </remarks>
public sealed class KeyBrokerHost : IFrameHandler
{
    /// <summary>Size of every tenant key in bytes.</summary>
    public const int KeySize = 32;

    // A tenant has three keys plus one per data-key version; this bounds the work one frame can ask for.
    private const int MaxKeysPerRequest = 1024;

    private readonly IMasterKeyProvider _masterKey;
    private readonly AttestationGate _gate;
    private readonly ReleaseAudit _audit;
    private readonly ShreddedKeys _shredded;

    /// <summary>Create a broker that wraps and unwraps with <paramref name="masterKey"/> and releases keys as <paramref name="policy"/> allows.</summary>
    /// <exception cref="KeyBrokerException">The record of shredded keys in the data directory cannot be read.</exception>
    public KeyBrokerHost(IMasterKeyProvider masterKey, ReleasePolicySource policy, KeyBrokerOptions options)
    {
        ArgumentNullException.ThrowIfNull(masterKey);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.DataDirectory);
        _masterKey = masterKey;
        _audit = new ReleaseAudit(options.DataDirectory, options.Time);
        _shredded = new ShreddedKeys(options.DataDirectory, options.Time);
        _gate = new AttestationGate(policy, _audit, options);
    }

    /// <summary>The audit log's path.</summary>
    public string AuditPath => _audit.Path;

    /// <summary>The path of the record of deleted tenants and retired data-key versions.</summary>
    public string ShreddedPath => _shredded.Path;

    /// <inheritdoc />
    /// <remarks>Only cancellation of <paramref name="cancellationToken"/> escapes as an exception.</remarks>
    public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        BrokerResponse response;
        try
        {
            response = Frames.Broker.DecodeRequest(request.Span) switch
            {
                ChallengeRequest => _gate.Challenge(),
                AttestRequest attest => _gate.Attest(attest),
                GenerateKeysRequest generate => await GenerateAsync(generate, cancellationToken),
                UnwrapKeysRequest unwrap => await UnwrapAsync(unwrap, cancellationToken),
                ShredKeysRequest shred => Shred(shred),
                _ => Error(BrokerErrorCodes.BadRequest, "The frame is not a key broker request."),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            // The exception's message is not passed on: the detail must stay free of anything secret.
            response = Error(BrokerErrorCodes.Internal, "The key broker failed to handle the request.");
        }

        return Frames.Broker.Encode(response);
    }

    private async Task<BrokerResponse> GenerateAsync(GenerateKeysRequest request, CancellationToken cancellationToken)
    {
        if (Validate(request.TenantId, request.Keys?.Count) is { } invalid)
        {
            return invalid;
        }

        foreach (var spec in request.Keys!)
        {
            if (spec is null || !IsKnownKey(spec.Purpose, spec.Version))
            {
                return Error(BrokerErrorCodes.BadRequest, "Each key needs a known purpose and a version of 1 or more.");
            }
        }

        var wrapped = new List<WrappedKey>(request.Keys!.Count);
        var key = GC.AllocateArray<byte>(KeySize, pinned: true);
        try
        {
            foreach (var spec in request.Keys!)
            {
                RandomNumberGenerator.Fill(key);
                var context = KeyWrapContext.Create(request.TenantId, spec.Purpose, spec.Version);
                var blob = await _masterKey.WrapAsync(key, context, cancellationToken);
                wrapped.Add(new WrappedKey(spec.Purpose, spec.Version, blob));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return new GenerateKeysResponse(wrapped);
    }

    private async Task<BrokerResponse> UnwrapAsync(UnwrapKeysRequest request, CancellationToken cancellationToken)
    {
        if (Validate(request.TenantId, request.Keys?.Count) is { } invalid)
        {
            return invalid;
        }

        if (request.Keys!.Any(wrapped => wrapped is null || wrapped.Blob is null || !IsKnownKey(wrapped.Purpose, wrapped.Version)))
        {
            return Error(BrokerErrorCodes.BadRequest, "Each wrapped key needs a known purpose, a version of 1 or more and a blob.");
        }

        if (_gate.Authorize(request.Session, request.TenantId, AuditEvent.Unwrap, out var session) is { } refused)
        {
            return refused;
        }

        if (_shredded.Refuses(request.TenantId, request.Keys!.Where(k => k.Purpose == KeyPurpose.Data).Select(k => k.Version)))
        {
            Audit(AuditEvent.Refusal, AuditEvent.Unwrap, request.TenantId, session!, BrokerErrorCodes.KeysShredded);
            return Error(BrokerErrorCodes.KeysShredded, "The tenant was deleted, or a data-key version asked for was retired: its keys are never unwrapped again.");
        }

        var unwrapped = new List<UnwrappedKey>(request.Keys!.Count);
        try
        {
            foreach (var wrapped in request.Keys!)
            {
                var context = KeyWrapContext.Create(request.TenantId, wrapped.Purpose, wrapped.Version);
                var key = await _masterKey.UnwrapAsync(wrapped.Blob, context, cancellationToken);
                if (key is null || key.Length != KeySize)
                {
                    if (key is not null)
                    {
                        CryptographicOperations.ZeroMemory(key);
                    }

                    Audit(AuditEvent.Refusal, AuditEvent.Unwrap, request.TenantId, session!, BrokerErrorCodes.UnwrapFailed);

                    // Names the key, not the tenant's other keys: enough for the operator to find the row.
                    return Error(
                        BrokerErrorCodes.UnwrapFailed,
                        $"The {wrapped.Purpose} key version {wrapped.Version} does not authenticate for this tenant under the master key.");
                }

                unwrapped.Add(new UnwrappedKey(wrapped.Purpose, wrapped.Version, key));
            }

            var sealedKeys = Seal(unwrapped, request.TenantId, request.Session, session!.PublicKey);
            Audit(AuditEvent.Release, AuditEvent.Unwrap, request.TenantId, session, null);
            return new UnwrapKeysResponse(sealedKeys);
        }
        finally
        {
            // Whatever happened, the plaintext keys never outlive this request in the broker.
            BrokerKeySet.Zero(unwrapped);
        }
    }

    private BrokerResponse Shred(ShredKeysRequest request)
    {
        if (string.IsNullOrEmpty(request.TenantId) || request.DataKeyVersion < 1)
        {
            return Error(BrokerErrorCodes.BadRequest, "A shred request needs a tenant id, and a data-key version of 1 or more when it names one.");
        }

        if (_gate.Authorize(request.Session, request.TenantId, AuditEvent.Shred, out var session) is { } refused)
        {
            return refused;
        }

        _shredded.Record(request.TenantId, request.DataKeyVersion);
        Audit(AuditEvent.Shred, AuditEvent.Shred, request.TenantId, session!, request.DataKeyVersion is { } version ? $"data key version {version}" : "tenant deleted");
        return new ShredKeysResponse();
    }

    private static byte[] Seal(IReadOnlyList<UnwrappedKey> keys, string tenantId, string sessionId, byte[] publicKey)
    {
        var plaintext = BrokerKeySet.Encode(keys);
        try
        {
            return SealedBox.Seal(publicKey, BrokerKeySet.SealPurpose, BrokerKeySet.AssociatedData(tenantId, sessionId), plaintext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private void Audit(string outcome, string operation, string tenantId, BrokerSession session, string? reason)
        => _audit.Write(new AuditEvent(
            outcome,
            operation,
            tenantId,
            session.WorkerMeasurement,
            session.Tee,
            AttestationGate.VerdictName(session.Verdict),
            session.Warnings,
            reason));

    private static BrokerErrorResponse? Validate(string? tenantId, int? keyCount)
    {
        if (string.IsNullOrEmpty(tenantId))
        {
            return Error(BrokerErrorCodes.BadRequest, "The request needs a tenant id.");
        }

        if (keyCount is null or 0 or > MaxKeysPerRequest)
        {
            return Error(BrokerErrorCodes.BadRequest, $"The request needs between 1 and {MaxKeysPerRequest} keys.");
        }

        return null;
    }

    private static bool IsKnownKey(string? purpose, int version)
        => purpose is KeyPurpose.Data or KeyPurpose.Fpe or KeyPurpose.Fingerprint && version >= 1;

    private static BrokerErrorResponse Error(string code, string detail) => new(new BrokerError(code, detail));
}
