"""Origin allowlists (API keys and widget assistants share the syntax, SPEC §2 and §5)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_ORIGINS = 50
DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*")
_PORT = re.compile(r"[1-9][0-9]{0,4}")


def _idn_hint(value: str, host: str) -> str:
    try:
        ascii_host = host.encode("idna").decode()
    except UnicodeError:
        return f"{value!r}: write an origin's international domain name in its ASCII (xn--) form"
    return f"{value!r}: write an origin's international domain name in its ASCII (xn--) form, as in {ascii_host}"


def _host(value: str, host: str) -> str:
    if host.startswith("[") and host.endswith("]"):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{value!r} is not an origin: {host} is not an IPv6 address") from None
        if address.scope_id:
            raise ValueError(f"{value!r} is not an origin: an origin has no IPv6 zone id")
        return f"[{address.compressed}]"
    if not host.isascii():
        raise ValueError(_idn_hint(value, host))
    host = host.lower()
    if "*" in host and not (host.startswith("*.") and "*" not in host[2:] and "." in host[2:]):
        raise ValueError(f"{value!r}: a wildcard must be the first label, as in https://*.example.com")
    if len(host) > 253 or not _HOST.fullmatch(host):
        raise ValueError(f"{value!r} is not an origin: {host!r} is not a host name (letters, digits, hyphens, dots)")
    return host


def normalize_origin(value: str) -> str:
    """``https://Shop.Example.com/`` → ``https://shop.example.com``; raises ``ValueError``.

    Accepts ``*`` (everything) and ``scheme://*.domain`` (every subdomain). Strict, so that
    one origin has one spelling: the default port (``:443`` of https, ``:80`` of http) is
    dropped, a port is 1 to 65535 without leading zeros, a host is ASCII letters, digits,
    hyphens and dots (an international name in its ``xn--`` form) or a bracketed IPv6
    address, and nothing but scheme, host and port (a trailing ``/`` aside) is allowed.
    """
    value = value.strip()
    if value == "*":
        return value
    if not value.isprintable() or " " in value:
        raise ValueError(f"{value!r} is not an origin: it has no spaces or control characters")
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[": an unclosed IPv6 literal
        raise ValueError(f"{value!r} is not an origin such as https://shop.example.com") from None
    scheme = parts.scheme
    if scheme not in DEFAULT_PORTS or not parts.netloc or not value.lower().startswith(f"{scheme}://"):
        raise ValueError(f"{value!r} is not an origin such as https://shop.example.com")
    if parts.path not in {"", "/"} or "@" in parts.netloc or "?" in value or "#" in value:
        raise ValueError(f"{value!r} must be an origin only: scheme, host and optional port")
    if parts.netloc.startswith("["):  # [IPv6]:port
        host, bracket, tail = parts.netloc.partition("]")
        host += bracket
    else:
        host, colon, port = parts.netloc.partition(":")
        tail = colon + port
    port = tail[1:]
    if tail and (not tail.startswith(":") or not _PORT.fullmatch(port) or int(port) > 65535):
        raise ValueError(f"{value!r} is not an origin: a port is a number from 1 to 65535, without leading zeros")
    if port and int(port) == DEFAULT_PORTS[scheme]:
        port = ""
    host = _host(value, host)
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


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
