"""The key format of SPEC §2: ``prefix + 32 base62 + 6 base62 of CRC32(prefix + random)``.

The checksum lets a mistyped or made-up key be refused without a database query,
and lets secret scanners recognise real keys.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
SECRET_PREFIX = "wsk_live_"  # noqa: S105  (the public prefix of secret keys, not a secret)
PUBLISHABLE_PREFIX = "wpk_live_"
PREFIXES = {"secret": SECRET_PREFIX, "publishable": PUBLISHABLE_PREFIX}
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(SECRET_PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
_ALPHABET_SET = frozenset(ALPHABET)


def _base62(number: int, width: int) -> str:
    chars = []
    while number:
        number, rem = divmod(number, 62)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars)).rjust(width, "0")


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate(kind: str) -> str:
    """A new plain key of ``kind`` (``secret`` or ``publishable``)."""
    body = PREFIXES[kind] + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + checksum(body)


def kind_of(key: str) -> str | None:
    """The kind of a well-formed key with a valid checksum, else ``None``. No I/O."""
    if len(key) != KEY_LENGTH:
        return None
    for kind, prefix in PREFIXES.items():
        if key.startswith(prefix):
            tail = key[len(prefix) :]
            if not _ALPHABET_SET.issuperset(tail):
                return None
            body, check = key[:-CHECKSUM_LENGTH], key[-CHECKSUM_LENGTH:]
            return kind if secrets.compare_digest(checksum(body), check) else None
    return None


def digest(key: str) -> str:
    """SHA-256 hex digest: what the database stores and looks keys up by."""
    return hashlib.sha256(key.encode()).hexdigest()


def hint(key: str) -> str:
    """A display mask such as ``wsk_live_AbCd…wxyz``."""
    prefix = key[: len(SECRET_PREFIX)]
    return f"{prefix}{key[len(prefix) : len(prefix) + 4]}…{key[-4:]}"
