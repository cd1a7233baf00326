"""Visitor session tokens: ``wst_`` + 40 random base62 characters (~238 bits), stored as SHA-256 only."""

from __future__ import annotations

from apikeys.keys import digest
from core.ids import public_id

PREFIX = "wst_"
RANDOM_LENGTH = 40
TOKEN_LENGTH = len(PREFIX) + RANDOM_LENGTH

__all__ = ["PREFIX", "digest", "generate", "hint", "well_formed"]


def generate() -> str:
    return public_id(PREFIX, RANDOM_LENGTH)


def well_formed(token: str) -> bool:
    """Shape only, no I/O: a token of another length or alphabet is refused before any lookup."""
    return len(token) == TOKEN_LENGTH and token.startswith(PREFIX) and token[len(PREFIX) :].isalnum()


def hint(token: str) -> str:
    """``wst_AbCd…wxyz``: enough to tell sessions apart in the admin, useless as a credential."""
    return f"{token[:8]}…{token[-4:]}"
