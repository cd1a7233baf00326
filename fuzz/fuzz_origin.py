"""atheris: ``Origin`` / ``Referer`` (core/net.py request_origin) and the allowlist (core/origins.py).

``request_origin`` never raises; ``normalize_origin`` gives one spelling (normalizing it
again changes nothing, the default port is gone, no port has a leading zero) or
``ValueError``; ``origin_allowed`` answers a bool.
"""

from __future__ import annotations

from harness import lines, run, setup

setup("core.net", "core.origins")

from django.test import RequestFactory  # noqa: E402  (after Django's setup)

from core.net import request_origin  # noqa: E402
from core.origins import DEFAULT_PORTS, normalize_origin, origin_allowed  # noqa: E402

FACTORY = RequestFactory()
ALLOWED = ["https://shop.example.com", "https://*.example.org", "http://127.0.0.1:8000"]


def test_one_input(data: bytes) -> None:
    origin_header, referer = lines(data, 2)
    meta = {}
    if origin_header is not None:
        meta["HTTP_ORIGIN"] = origin_header
    if referer is not None:
        meta["HTTP_REFERER"] = referer
    origin = request_origin(FACTORY.get("/", **meta))
    assert isinstance(origin_allowed(origin, ALLOWED), bool)
    if origin is None:
        return
    try:
        normalized = normalize_origin(origin)
    except ValueError:
        return
    assert normalize_origin(normalized) == normalized, (origin, normalized)
    if normalized == "*":
        return
    scheme, _, netloc = normalized.partition("://")
    port = (netloc.rpartition("]")[2] if netloc.startswith("[") else netloc).partition(":")[2]
    assert netloc.isascii(), normalized
    assert netloc == netloc.lower(), normalized
    assert port != str(DEFAULT_PORTS[scheme]), normalized
    assert not port.startswith("0"), normalized
    assert origin_allowed(normalized, [normalized]), normalized


if __name__ == "__main__":
    run(test_one_input)
