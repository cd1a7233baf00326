"""One credential per peer, made the way each library's documentation says."""

from __future__ import annotations

from typing import Any


def make_credentials(user: Any) -> dict[str, dict[str, str]]:
    """The request headers of each peer's endpoint, for ``user``."""
    from knox.models import AuthToken  # type: ignore[import-untyped]  # knox ships no types
    from rest_framework.authtoken.models import Token
    from rest_framework_api_key.models import APIKey

    _, api_key = APIKey.objects.create_key(name="bench")  # type: ignore[misc]  # its manager is generic
    token = Token.objects.create(user=user)
    _, knox_token = AuthToken.objects.create(user=user)
    return {
        "drf-api-key": {"Authorization": f"Api-Key {api_key}"},
        "drf-api-key-throttle": {"Authorization": f"Api-Key {api_key}"},
        "drf-token": {"Authorization": f"Token {token.key}"},
        "knox": {"Authorization": f"Token {knox_token}"},
    }
