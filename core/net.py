"""Client IP, origin and public address of a request, honouring only trusted proxies."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """``REMOTE_ADDR``, or the ``X-Forwarded-For`` entry our trusted proxies appended.

    With ``TRUSTED_PROXY_COUNT = n`` the client is the n-th entry from the right: each
    trusted proxy appends the address it saw, so anything further left is client-made.
    With 0 (the default) ``X-Forwarded-For`` is ignored entirely.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    return forwarded[-count]


def request_origin(request: HttpRequest) -> str | None:
    """The ``Origin`` header, else the origin of ``Referer``; ``None`` when neither."""
    origin = request.headers.get("Origin")
    if origin:
        return origin.strip()
    referer = request.headers.get("Referer")
    if not referer:
        return None
    parts = urlsplit(referer)
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
