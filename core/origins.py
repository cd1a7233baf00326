"""Origin allowlists (API keys and widget assistants share the syntax, SPEC §2 and §5)."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_ORIGINS = 50


def normalize_origin(value: str) -> str:
    """``https://Shop.Example.com/`` → ``https://shop.example.com``; raises ``ValueError``.

    Accepts ``*`` (everything) and ``scheme://*.domain`` (every subdomain).
    """
    value = value.strip()
    if value == "*":
        return value
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"{value!r} is not an origin such as https://shop.example.com")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{value!r} must be an origin only: scheme, host and optional port")
    host = parts.netloc.lower()
    if "*" in host and not (host.startswith("*.") and "*" not in host[2:] and "." in host[2:]):
        raise ValueError(f"{value!r}: a wildcard must be the first label, as in https://*.example.com")
    return f"{parts.scheme}://{host}"


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """Whether ``origin`` passes the allowlist. Empty list or ``*`` allows all.

    ``https://*.example.com`` matches every subdomain, not the bare domain. The
    ``null`` origin never matches a list; a missing origin fails a non-empty list.
    """
    if not allowed or "*" in allowed:
        return True
    if not origin or origin == "null":
        return False
    try:
        candidate = normalize_origin(origin)
    except ValueError:
        return False
    scheme, _, host = candidate.partition("://")
    for entry in allowed:
        entry_scheme, _, entry_host = entry.partition("://")
        if entry_scheme != scheme:
            continue
        if entry_host.startswith("*."):
            suffix = entry_host[1:]  # ".example.com" (with any port)
            if host.endswith(suffix) and len(host) > len(suffix):
                return True
        elif entry_host == host:
            return True
    return False
