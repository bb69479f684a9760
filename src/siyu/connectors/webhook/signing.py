"""HMAC-SHA256 over `timestamp + "." + body`, the scheme Stripe and Slack use: the timestamp inside the signature
lets a receiver refuse an old request outright, and within the tolerance window a table of seen signatures
refuses the same request twice (`WebhookSignature`).

Headers: `X-Siyu-Timestamp: <unix seconds>` and `X-Siyu-Signature: sha256=<lowercase hex>`. The same functions
sign siyu's outbound calls, so a receiver written against one direction works for the other.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from siyu.kit.errors import Forbidden, Unauthorized

TIMESTAMP_HEADER = "X-Siyu-Timestamp"
SIGNATURE_HEADER = "X-Siyu-Signature"
PREFIX = "sha256="


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex digest alone (what the replay table keeps)."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The two headers of a signed request."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: PREFIX + signature(secret, timestamp, body)}


@dataclass(frozen=True)
class Verified:
    signature: str
    signed_at: datetime


def verify(secrets: list[str], timestamp: str | None, header: str | None, body: bytes, now: datetime,
           tolerance_s: int) -> Verified:
    """The request's signature if one of `secrets` made it within the window; else the reason, as a 401 (nothing
    to check) or a 403 (checked and refused). Constant-time comparison; nothing is stored either way."""
    if not timestamp or not header:
        raise Unauthorized(f"sign the request: {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required",
                           code="signature_missing")
    try:
        ts = int(timestamp.strip())
    except ValueError:
        raise Unauthorized(f"{TIMESTAMP_HEADER} must be unix seconds", code="signature_missing") from None
    given = header.strip()
    if not given.startswith(PREFIX) or len(given) != len(PREFIX) + 64:
        raise Unauthorized(f"{SIGNATURE_HEADER} must be sha256=<64 hex digits>", code="signature_missing")
    digest = given[len(PREFIX):].lower()
    if not any(hmac.compare_digest(signature(s, ts, body), digest) for s in secrets if s):
        raise Forbidden("the signature does not match the body and timestamp", code="invalid_signature")
    skew = abs(now.timestamp() - ts)
    if skew > tolerance_s:
        raise Forbidden(f"the timestamp is {int(skew)} s away from the server's clock (tolerance {tolerance_s} s)",
                        code="stale_signature", detail={"tolerance_s": tolerance_s})
    return Verified(digest, datetime.fromtimestamp(ts, UTC))
