"""Client IP, origin and public address of a request, honouring only trusted proxies."""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from core.conf import hot


@functools.lru_cache(maxsize=4096)
def clean_ip(value: str) -> str | None:
    """``value`` as a canonical IP address (``192.0.2.1``, ``2001:db8::1``), else ``None``.

    Memoized (a pure function of the string): a keyed request asks for its client's
    address two or three times (the request log line, the key's request log entry, an
    IP allowlist), and parsing it with ``ipaddress`` costs ~4 µs each time.

    Proxies write ``X-Forwarded-For`` entries as ``192.0.2.1``, ``192.0.2.1:4711``,
    ``2001:db8::1`` or ``[2001:db8::1]:4711``: the port is dropped. Anything else (a name,
    a zone id such as ``fe80::1%eth0``, junk) is not an address. What this returns is
    what PostgreSQL's ``inet`` accepts.
    """
    value = value.strip()
    if value.startswith("["):
        value, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
    elif value.count(":") == 1:  # IPv4 with a port (an IPv6 address has at least two colons)
        value, _, port = value.partition(":")
        if not port.isdigit():
            return None
    if not value.isascii() or "%" in value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """``REMOTE_ADDR``, or the ``X-Forwarded-For`` entry our trusted proxies appended.

    With ``TRUSTED_PROXY_COUNT = n`` the client is the n-th entry from the right: each
    trusted proxy appends the address it saw, so anything further left is client-made.
    With 0 (the default) ``X-Forwarded-For`` is ignored entirely. Always a canonical IP
    address, or ``""`` when none is known (a Unix socket): an entry that is not an
    address (the chain is shorter than configured, or forged) counts as absent, and
    the nearest proxy's ``REMOTE_ADDR`` is the answer.
    """
    remote = clean_ip(request.META.get("REMOTE_ADDR", "") or "") or ""
    count = hot.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    return clean_ip(forwarded[-count]) or remote


def request_origin(request: HttpRequest) -> str | None:
    """The ``Origin`` header, else the origin of ``Referer``; ``None`` when neither (or junk)."""
    origin = request.headers.get("Origin")
    if origin:
        return origin.strip()
    referer = request.headers.get("Referer")
    if not referer:
        return None
    try:
        parts = urlsplit(referer)
    except ValueError:  # "http://[": an unclosed IPv6 literal
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def public_url(request: HttpRequest, path: str | None = None) -> str:
    """The address the outside world uses for ``path`` (default: this request's path and query).

    ``PUBLIC_BASE_URL`` (``https://host[:port]``, no path) when it is set; else the
    request's absolute URL as Django builds it: the scheme from ``SECURE_PROXY_SSL_HEADER``
    only when that is configured (a trusted TLS proxy sets it), the host from ``Host``
    (``X-Forwarded-Host`` only with ``USE_X_FORWARDED_HOST``), checked against ``ALLOWED_HOSTS``.
    """
    path = request.get_full_path() if path is None else path
    base = settings.PUBLIC_BASE_URL
    return base + path if base else request.build_absolute_uri(path)
