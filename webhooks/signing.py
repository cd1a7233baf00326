"""Signing deliveries as the Standard Webhooks specification says (standardwebhooks.com).

The secret is ``whsec_`` + base64 of 32 random bytes; the signature is
``v1,<base64 HMAC-SHA256(decoded secret, "<id>.<timestamp>.<body>")>`` (one per live
secret, space-separated, while a roll's overlap lasts). Receivers
verify with that project's libraries, e.g. ``standardwebhooks.Webhook(secret).verify``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105  (the Standard Webhooks prefix, not a secret)
SECRET_BYTES = 32  # the spec asks for 24 to 64


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``msg_id.timestamp.body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def signed_headers(
    *, secret: str, msg_id: str, timestamp: int, body: bytes, previous_secrets: Sequence[str] = ()
) -> dict[str, str]:
    """The three Standard Webhooks headers; ``msg_id`` is the event id, the same on every attempt.

    During a secret roll's overlap ``previous_secrets`` sign too: ``webhook-signature`` is
    then one ``v1,…`` per secret, space-separated, the current one first, as the
    specification allows (a receiver accepts the message when any of them verifies).
    """
    signatures = [
        signature(secret=each, msg_id=msg_id, timestamp=timestamp, body=body) for each in (secret, *previous_secrets)
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(dict.fromkeys(signatures)),
    }
