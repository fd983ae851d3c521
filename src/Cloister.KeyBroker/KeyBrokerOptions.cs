namespace Cloister.KeyBroker;

/// <summary>Options of <see cref="KeyBrokerHost"/>.</summary>
public sealed record KeyBrokerOptions
{
    /// <summary>The broker's data directory; the audit log <c>keybroker-audit.jsonl</c> is written there. Required.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The clock for nonce and session expiry and for evidence freshness. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>How long a challenge nonce stays valid. Default 60 s (a worker attests within milliseconds).</summary>
    public TimeSpan NonceLifetime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an attested session may unwrap keys. Default 10 minutes; the worker then attests again.</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Most nonces outstanding at once; the oldest is forgotten first. Default 1024.</summary>
    public int MaxOutstandingNonces { get; init; } = 1024;

    /// <summary>Most live sessions; the oldest is forgotten first (its worker re-attests). Default 1024.</summary>
    public int MaxSessions { get; init; } = 1024;
}
