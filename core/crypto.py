"""Secrets that must be read back (Twilio auth tokens, identity secrets), encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with a ``MultiFernet`` of
``FIELD_ENCRYPTION_KEYS``: the first key encrypts, every key decrypts, so keys
rotate by putting a new one first (then ``manage.py rotate_field_encryption`` re-encrypts
every stored value with it, and the old key can go). Without the setting, one key is derived from
``SECRET_KEY`` (HKDF-SHA256), which ties the ciphertexts to that secret.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "reencrypt"]


def _derived_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"parley-field-encryption", info=b"fernet")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys] or [Fernet(_derived_key(secret_key))])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    """The ciphertext of ``plain`` (text, safe to store); ``""`` stays ``""``."""
    return _current().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The plain text; raises ``InvalidToken`` if no configured key opens it."""
    return _current().decrypt(token.encode()).decode() if token else ""


def reencrypt(token: str) -> str:
    """``token`` encrypted again with the first key (its timestamp kept); ``InvalidToken`` if no key opens it."""
    return _current().rotate(token.encode()).decode() if token else ""
