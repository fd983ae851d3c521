using System.Text;
using Cloister.Protocol;

namespace Cloister.Enclave;

/// <summary>
/// The per-item work of tokenize, reveal and re-encrypt, with keys from the keyring. Every expected
/// failure is an <see cref="EnclaveError"/> on the item; no detail ever contains the value.
/// </summary>
internal sealed class TokenOperations(Keyring keyring)
{
    public TokenizeResult Tokenize(string tenantId, int keyVersion, TokenizeItem item)
    {
        var value = item.Value;
        if (value.Length == 0)
        {
            return Failed(EnclaveErrorCodes.InvalidValue, "The value is empty.");
        }

        if (!IsWellFormed(value))
        {
            return Failed(EnclaveErrorCodes.InvalidValue, "The value is not well-formed Unicode text.");
        }

        var format = TokenFormats.Canonical(item.Format);
        IssuedToken issued;
        var failure = format switch
        {
            TokenFormats.Random => RandomToken(item, out issued),
            TokenFormats.Fpe => FpeToken(tenantId, item, out issued),
            _ => DigitToken(format, item, out issued),
        };
        if (failure is not null)
        {
            return failure;
        }

        using var fingerprintLease = keyring.FingerprintKey(tenantId);
        if (fingerprintLease.Key is not { } fingerprintKey)
        {
            return Failed(EnclaveErrorCodes.KeyUnavailable, "The tenant's fingerprint key is not loaded.");
        }

        byte[]? ciphertext = null;
        if (format != TokenFormats.Fpe)
        {
            using var dataLease = keyring.DataKey(tenantId, keyVersion);
            if (dataLease.Key is not { } dataKey)
            {
                return Failed(EnclaveErrorCodes.KeyUnavailable, "The tenant's data key of this version is not loaded.");
            }

            ciphertext = ValueCrypto.Seal(dataKey, tenantId, issued.Token, keyVersion, value);
        }

        var fingerprint = ValueCrypto.Fingerprint(fingerprintKey.Bytes, value);
        var deterministicKey = item.Deterministic
            ? ValueCrypto.DeterministicKey(fingerprintKey.Bytes, format, issued.AlphabetName, item.Classifier ?? string.Empty, value)
            : null;
        return new TokenizeResult(issued.Token, ciphertext, fingerprint, deterministicKey, issued.Mask, issued.SpaceSize, null);
    }

    public RevealResult Reveal(string tenantId, RevealItem item)
    {
        var error = TryReveal(tenantId, item, out var value);
        return new RevealResult(value, error);
    }

    /// <summary>The item's value re-sealed under <paramref name="toVersion"/>; null for fpe items (no ciphertext) and failures.</summary>
    public byte[]? Reencrypt(string tenantId, int toVersion, RevealItem item)
    {
        if (TokenFormats.Canonical(item.Format) == TokenFormats.Fpe)
        {
            return null;
        }

        using var toLease = keyring.DataKey(tenantId, toVersion);
        if (toLease.Key is not { } toKey || TryReveal(tenantId, item, out var value) is not null)
        {
            return null;
        }

        return ValueCrypto.Seal(toKey, tenantId, item.Token, toVersion, value!);
    }

    public byte[]? Fingerprint(string tenantId, string value)
    {
        using var lease = keyring.FingerprintKey(tenantId);
        return lease.Key is { } key ? ValueCrypto.Fingerprint(key.Bytes, value) : null;
    }

    private EnclaveError? TryReveal(string tenantId, RevealItem item, out string? value)
    {
        value = null;
        var format = TokenFormats.Canonical(item.Format);
        if (format == TokenFormats.Fpe)
        {
            var alphabet = FpeAlphabet.Find(item.Alphabet);
            if (alphabet is null)
            {
                return new EnclaveError(EnclaveErrorCodes.UnknownAlphabet, "The fpe alphabet is not one of digits, lower-alnum, alnum.");
            }

            using var lease = keyring.Fpe(tenantId);
            if (lease.Key is not { } ciphers)
            {
                return new EnclaveError(EnclaveErrorCodes.KeyUnavailable, "The tenant's fpe key is not loaded.");
            }

            if (item.Token.Length > FpeTokens.MaxLength
                || !FpeTokens.TryTransform(ciphers, alphabet, item.Token, encrypt: false, out value, out _))
            {
                return DecryptFailed;
            }

            return null;
        }

        if (format is not (TokenFormats.Random or TokenFormats.Numeric or TokenFormats.Pan or TokenFormats.PanLast4 or TokenFormats.SsnLast4))
        {
            return new EnclaveError(EnclaveErrorCodes.UnknownFormat, "The format is not one of random, numeric, pan, pan-last4, ssn-last4, fpe.");
        }

        if (item.Ciphertext is null)
        {
            return DecryptFailed;
        }

        using var dataLease = keyring.DataKey(tenantId, item.KeyVersion);
        if (dataLease.Key is not { } dataKey)
        {
            return new EnclaveError(EnclaveErrorCodes.KeyUnavailable, "The tenant's data key of this version is not loaded.");
        }

        if (!ValueCrypto.TryOpen(dataKey, tenantId, item.Token, item.KeyVersion, item.Ciphertext, out value))
        {
            return DecryptFailed;
        }

        return null;
    }

    private static TokenizeResult? RandomToken(TokenizeItem item, out IssuedToken issued)
    {
        issued = default;
        if (TokenAttempts.Plan(RandomTokens.SpaceSize, item.Attempt, item.ScanStart).Kind == AttemptKind.Exhausted)
        {
            return Exhausted(RandomTokens.SpaceSize);
        }

        issued = new IssuedToken(RandomTokens.Draw(item.Value), RandomTokens.Mask, RandomTokens.SpaceSize, string.Empty);
        return null;
    }

    private static TokenizeResult? DigitToken(string format, TokenizeItem item, out IssuedToken issued)
    {
        issued = default;
        if (DigitTemplate.TryCreate(format, item.Value, out var template) is { } invalid)
        {
            return new TokenizeResult(null, null, null, null, null, 0, invalid);
        }

        var plan = TokenAttempts.Plan(template!.SpaceSize, item.Attempt, item.ScanStart);
        if (plan.Kind == AttemptKind.Exhausted)
        {
            return Exhausted(template.SpaceSize);
        }

        issued = new IssuedToken(template.Token(plan), template.Mask, template.SpaceSize, string.Empty);
        return null;
    }

    private TokenizeResult? FpeToken(string tenantId, TokenizeItem item, out IssuedToken issued)
    {
        issued = default;
        var value = item.Value;
        var alphabet = FpeAlphabet.Find(item.Alphabet);
        if (alphabet is null)
        {
            return Failed(EnclaveErrorCodes.UnknownAlphabet, "The fpe alphabet is not one of digits, lower-alnum, alnum.");
        }

        if (value.Length > FpeTokens.MaxLength)
        {
            return Failed(EnclaveErrorCodes.InvalidValue, $"The fpe format takes at most {FpeTokens.MaxLength} characters.");
        }

        using var lease = keyring.Fpe(tenantId);
        if (lease.Key is not { } ciphers)
        {
            return Failed(EnclaveErrorCodes.KeyUnavailable, "The tenant's fpe key is not loaded.");
        }

        if (!FpeTokens.HasOnlySeparatorsOutside(alphabet, value))
        {
            return Failed(EnclaveErrorCodes.InvalidValue, $"An fpe value may contain only characters of its alphabet and the separators '{FpeTokens.Separators}', which stay in place.");
        }

        if (!FpeTokens.TryTransform(ciphers, alphabet, value, encrypt: true, out var token, out var spaceSize))
        {
            return Failed(EnclaveErrorCodes.DomainTooSmall, "The value has too few alphabet characters for fpe (the alphabet's size to the power of their count must be at least 1,000,000).");
        }

        // The token is a function of the value: a retry cannot produce another one (see TokenAttempts).
        if (item.Attempt > 0)
        {
            return Exhausted(spaceSize, "An fpe token is a function of its value, and this value's token is taken.");
        }

        // An FF1 fixed point (about one value in radix^n) would make the token equal the value.
        if (string.Equals(token, value, StringComparison.Ordinal))
        {
            return Exhausted(spaceSize, "FF1 maps this value to itself, so it has no fpe token.");
        }

        issued = new IssuedToken(token!, MaskOf(alphabet, value), spaceSize, alphabet.Name);
        return null;
    }

    private static EnclaveError DecryptFailed => new(EnclaveErrorCodes.DecryptFailed, "The token's ciphertext does not open for this tenant, token and key version.");

    private static TokenizeResult Failed(string code, string detail) => new(null, null, null, null, null, 0, new EnclaveError(code, detail));

    private static TokenizeResult Exhausted(long spaceSize, string detail = "Every token this value can have in this format is taken.")
        => new(null, null, null, null, null, spaceSize, new EnclaveError(EnclaveErrorCodes.SpaceExhausted, detail));

    private static string MaskOf(FpeAlphabet alphabet, string value)
        => string.Create(value.Length, (alphabet, value), static (span, state) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = state.alphabet.NumeralOf(state.value[i]) >= 0 ? '*' : state.value[i];
            }
        });

    // Lone surrogates would not survive UTF-8 encryption: the revealed value would differ from the input.
    private static bool IsWellFormed(string value)
    {
        var span = value.AsSpan();
        while (!span.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(span, out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return false;
            }

            span = span[consumed..];
        }

        return true;
    }
}

/// <summary>
/// A token drawn for a value, with what the result reports beside it. <c>AlphabetName</c> is the fpe
/// alphabet bound into the deterministic key; empty for other formats.
/// </summary>
internal readonly record struct IssuedToken(string Token, string Mask, long SpaceSize, string AlphabetName);
