"""Vouch for a signed-in visitor of your site to Parley's widget (identity verification).

Run it on YOUR server, never in the browser: the identity secret must stay secret.

    python docs/examples/widget_identity.py <identity_secret> <user_id>

prints ``{"user_token", "user_id", "user_hash"}``. Put one of the two ways into the page
that embeds the widget:

    <script src="https://HOST/static/widget/parley-widget.js" data-assistant="ast_…"
            data-user-token="USER_TOKEN" async></script>          (recommended)
    <script … data-user-id="USER_ID" data-user-hash="USER_HASH" async></script>  (older)

The secret is the string ``POST /api/assistants/{id}/identity-secret`` showed once; the
key of the HMAC and of the JWT is that string's UTF-8 bytes. Needs PyJWT (``pip install PyJWT``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time

import jwt

TOKEN_LIFETIME = 10 * 60  # seconds: a fresh token with every page that embeds the widget


def user_token(secret: str, user_id: str) -> str:
    """An HS256 JWT with ``sub`` (your user's id) and ``exp``: the way to prefer."""
    return jwt.encode({"sub": user_id, "exp": int(time.time()) + TOKEN_LIFETIME}, secret, algorithm="HS256")


def user_hash(secret: str, user_id: str) -> str:
    """hex(HMAC-SHA256(secret, user_id)): the older way (the hash never expires)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} <identity_secret> <user_id>", file=sys.stderr)
        return 2
    secret, user_id = argv[1], argv[2]
    token, digest = user_token(secret, user_id), user_hash(secret, user_id)
    print(json.dumps({"user_token": token, "user_id": user_id, "user_hash": digest}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
