"""Card risk score: a deterministic fraud score for one card payment.

The caller sends the card as a token, {"card": {"$token": "..."}, "amount": 1250.0, "country": "US"};
Cloister reveals the card number into the sandbox (the manifest allows the "pan" classifier) and
nowhere else. The result carries the score and the card's BIN and last four digits, never the
whole number. "cardToken": "<token>" instead of "card" reveals it through ctx.reveal instead.
"""

import math

# Issuer BIN prefixes → (issuing country, risk weight). Illustrative data only.
BINS = {
    "411111": ("US", 0.00),
    "424242": ("US", 0.05),
    "400000": ("GB", 0.10),
    "555555": ("US", 0.05),
    "378282": ("US", 0.00),
    "601111": ("US", 0.10),
}

# Transaction countries with a higher base risk. Illustrative only.
COUNTRY_RISK = {"US": 0.00, "GB": 0.02, "DE": 0.02, "FR": 0.02, "BR": 0.15, "NG": 0.30, "RU": 0.30}
UNKNOWN_COUNTRY_RISK = 0.10


def luhn_valid(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def network(pan):
    if pan.startswith("4"):
        return "visa"
    if pan[:2] in ("51", "52", "53", "54", "55") or "2221" <= pan[:4] <= "2720":
        return "mastercard"
    if pan[:2] in ("34", "37"):
        return "amex"
    if pan.startswith("6011") or pan.startswith("65"):
        return "discover"
    return "unknown"


def score(pan, amount, country):
    """Returns (score in [0, 1], reasons): the same inputs always give the same score."""
    reasons = []
    if not luhn_valid(pan):
        return 1.0, ["luhn"]
    issuer_country, bin_risk = BINS.get(pan[:6], (None, 0.20))
    total = bin_risk
    if issuer_country is None:
        reasons.append("unknown-bin")
    elif issuer_country != country:
        total += 0.25
        reasons.append("cross-border")
    country_risk = COUNTRY_RISK.get(country, UNKNOWN_COUNTRY_RISK)
    if country_risk >= 0.15:
        reasons.append("country")
    total += country_risk
    # Amount: nothing below 100, then logarithmic, 0.35 at 100 000.
    amount_risk = min(0.35, max(0.0, math.log10(max(amount, 1.0)) - 2.0) * 0.35 / 3.0)
    if amount_risk >= 0.2:
        reasons.append("amount")
    total += amount_risk
    return round(min(1.0, total), 2), reasons


def decision(value):
    if value < 0.3:
        return "approve"
    if value < 0.7:
        return "review"
    return "decline"


def handle(event, ctx):
    if "cardToken" in event:
        pan = ctx.reveal(event["cardToken"])
    else:
        pan = event["card"]
    if not isinstance(pan, str) or not pan.isdigit() or not 12 <= len(pan) <= 19:
        # Never echo the value: a message may end up in logs.
        raise ValueError("card must be a 12-19 digit card number")
    amount = float(event["amount"])
    if amount <= 0:
        raise ValueError("amount must be positive")
    country = str(event.get("country", "")).upper()

    value, reasons = score(pan, amount, country)
    verdict = decision(value)
    ctx.log(f"card-risk: network={network(pan)} score={value} decision={verdict}")
    return {
        "score": value,
        "decision": verdict,
        "reasons": reasons,
        "network": network(pan),
        "bin": pan[:6],
        "last4": pan[-4:],
    }
