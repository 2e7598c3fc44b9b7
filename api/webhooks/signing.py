"""How deliveries are signed (docs/live-updates.md shows the receiver's side).

    X-Fieldwork-Timestamp: <unix seconds>
    X-Fieldwork-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

Signing the timestamp with the body lets a receiver refuse replays of old deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Fieldwork-Signature"
TIMESTAMP_HEADER = "X-Fieldwork-Timestamp"
DELIVERY_HEADER = "X-Fieldwork-Delivery"
EVENT_HEADER = "X-Fieldwork-Event"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), header)
