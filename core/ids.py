"""Public ids: a prefix and random base62, so a URL never reveals how many rows exist."""

from __future__ import annotations

import secrets
import string

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase


def public_id(prefix: str, length: int = 20) -> str:
    """``ast_`` + 20 random base62 characters (~119 bits): unguessable and unordered."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))
