"""atheris: ``Authorization`` and ``X-Api-Key`` (apikeys/authentication.py claimed_key).

A claimed key is ours (X-Api-Key's value, or a Bearer token with a Parley prefix), or
None; two headers with different keys are ``InvalidApiKey``. Nothing else is raised.
"""

from __future__ import annotations

from harness import lines, run, setup

setup("apikeys.authentication")

from django.test import RequestFactory  # noqa: E402  (after Django's setup)
from rest_framework.request import Request  # noqa: E402

from apikeys.authentication import CLAIMED_PREFIXES, claimed_key  # noqa: E402
from core.errors import InvalidApiKey  # noqa: E402

FACTORY = RequestFactory()


def test_one_input(data: bytes) -> None:
    authorization, api_key = lines(data, 2)  # an empty line is a header with an empty value
    meta = {}
    if authorization is not None:
        meta["HTTP_AUTHORIZATION"] = authorization
    if api_key is not None:
        meta["HTTP_X_API_KEY"] = api_key
    try:
        claimed = claimed_key(Request(FACTORY.get("/api/v1/me", **meta)))
    except InvalidApiKey:
        assert meta.get("HTTP_AUTHORIZATION"), meta
        assert meta.get("HTTP_X_API_KEY", "").strip(), meta
        return
    if claimed is None:
        return
    assert claimed, meta
    assert claimed == claimed.strip(), meta
    assert claimed == meta.get("HTTP_X_API_KEY", "").strip() or claimed.startswith(CLAIMED_PREFIXES), meta


if __name__ == "__main__":
    run(test_one_input)
