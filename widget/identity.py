"""Identity verification of widget visitors (SPEC §5), as Intercom and Zendesk do it.

The customer's server vouches for its signed-in user with the assistant's identity
secret, either as a JWT ``user_token`` (HS256, claims ``sub`` and ``exp``; the way
both now recommend) or as ``user_id`` + ``user_hash = hex(HMAC-SHA256(secret,
user_id))`` (Intercom's older way). The key is the secret's UTF-8 bytes. Several
secrets may be live at once (a rotation's overlap): any of them verifies.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import jwt
from django.conf import settings

from core.errors import IdentityVerificationFailed

MAX_USER_ID_LENGTH = 255


def user_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify_user_token(token: str, secrets: Sequence[str]) -> str:
    """The token's ``sub`` when one of ``secrets`` signed it and it has not expired."""
    for secret in secrets:
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                options={"require": ["exp", "sub"]},
                leeway=settings.WIDGET_IDENTITY_CLOCK_SKEW_SECONDS,
            )
        except jwt.ExpiredSignatureError:
            raise IdentityVerificationFailed(
                "The user_token has expired.", hint="Make a new user_token on your server for each page view."
            ) from None
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidTokenError as exc:
            raise IdentityVerificationFailed(
                f"The user_token is not valid: {exc}.",
                hint="Sign an HS256 JWT with the claims sub and exp, keyed with the assistant's identity secret.",
            ) from None
        sub = claims["sub"]
        if not isinstance(sub, str) or not 0 < len(sub) <= MAX_USER_ID_LENGTH:
            break
        return sub
    raise IdentityVerificationFailed(
        "The user_token's signature does not match this assistant's identity secret.",
        hint="Sign it with the identity secret of this assistant (POST /api/assistants/{id}/identity-secret).",
    )


def verify_user_hash(user_id: str, given_hash: str, secrets: Sequence[str]) -> str:
    """``user_id`` when ``given_hash`` is its HMAC under one of ``secrets``."""
    if 0 < len(user_id) <= MAX_USER_ID_LENGTH:
        given = given_hash.strip().lower()
        if any(hmac.compare_digest(user_hash(secret, user_id), given) for secret in secrets):
            return user_id
    raise IdentityVerificationFailed(
        "The user_hash does not match the user_id.",
        hint="Compute user_hash = hex(HMAC-SHA256(identity secret, user_id)) on your server.",
    )
