"""Where a webhook may be sent, and sending it there (SPEC §10, SSRF).

``target_check(url)`` parses the URL, applies the scheme and port rules, resolves the
host **once** and refuses it if any address it resolves to is loopback, private,
link-local, multicast, unspecified, reserved or otherwise not public — including
those addresses hidden in IPv4-mapped (``::ffff:127.0.0.1``), 6to4 (``2002:7f00:1::``),
NAT64 (``64:ff9b::``), Teredo and IPv4-compatible IPv6 forms. It answers a ``Target``
carrying the checked addresses.

``target_post(target, …)`` connects to one of those checked addresses and nowhere
else — no second lookup, so a name that re-resolves to an internal address between
the check and the connection (DNS rebinding) changes nothing — while the ``Host``
header and TLS (SNI and certificate check) use the original name. Redirects are not
followed, at most 64 KiB of the answer is read, and the whole exchange (connect, TLS,
request, answer) ends after 10 seconds.

Outside development only ``https`` on port 443 (or a port of
``WEBHOOK_ALLOWED_PORTS``) is accepted; ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` (on in
``local``, off in production) also allows ``http``, any port and internal addresses,
so a developer can receive webhooks on their own machine.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_LENGTH = 2000
MAX_RESPONSE_BYTES = 64 * 1024
TIMEOUT_SECONDS = 10.0
HTTPS_PORT = 443

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")

# Resolution runs in a thread so that it, too, has a deadline (getaddrinfo has none).
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


class TargetRefused(Exception):
    """The URL is not a place Parley sends webhooks to; ``reason`` says why, in words for the customer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TargetUnreachable(Exception):
    """The checked target could not be reached or did not answer in time (worth a retry)."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str  # the name (or IP literal, IPv6 without brackets) for Host and TLS
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # the checked addresses; the connection goes to one of these


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most MAX_RESPONSE_BYTES


def _kind(ip: IPAddress) -> str | None:
    """What makes a plain address internal, or ``None`` for a public one."""
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE:
        return "shared (carrier-grade NAT)"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """IPv4 addresses an IPv6 address stands for, with the name of the form."""
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        found.extend(("Teredo", address) for address in ip.teredo)
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        found.append(("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def address_refusal(address: str | IPAddress) -> str | None:
    """Why Parley does not send webhooks to this address, or ``None`` if it may."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    shown = str(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return f"{shown} is a scoped (link-local) address"
        embedded = _embedded_ipv4(ip)
        for form, ipv4 in embedded:
            kind = _kind(ipv4)
            if kind is not None:
                return f"{shown} is the {form} form of {_a(kind)} address, {ipv4}"
        if ip in _IPV4_COMPATIBLE and not ip.is_loopback and not ip.is_unspecified:
            return f"{shown} is a deprecated IPv4-compatible address"
        if ip.ipv4_mapped is not None:
            return None  # ::ffff:<public IPv4> is that public address (ipaddress calls the range private)
    kind = _kind(ip)
    return f"{shown} is {_a(kind)} address" if kind else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ascii_host(host: str) -> str:
    """The name as DNS knows it (IDNA); ``TargetRefused`` for anything that is not a host name."""
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise TargetRefused("The host name is not valid.") from None
    if not ascii_host or any(not (ch.isalnum() or ch in "-.") for ch in ascii_host):
        raise TargetRefused("The host name is not valid.")
    return ascii_host


def _parse(url: str) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise TargetRefused("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("This is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise TargetRefused("Use an https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("Credentials in the URL are not allowed: authenticate the request by its signature.")
    host = parts.hostname or ""
    if not host:
        raise TargetRefused("The URL has no host.")
    if not _is_ip(host):
        host = _ascii_host(host)
    if port == 0:
        raise TargetRefused("The port is not valid.")
    port = port or (HTTPS_PORT if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port, path


def _check_scheme_and_port(scheme: str, port: int) -> None:
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    if scheme != "https":
        raise TargetRefused("Only https:// targets are allowed.")
    if port != HTTPS_PORT and port not in settings.WEBHOOK_ALLOWED_PORTS:
        allowed = ", ".join(str(p) for p in [HTTPS_PORT, *settings.WEBHOOK_ALLOWED_PORTS])
        raise TargetRefused(f"Port {port} is not allowed for webhooks (allowed: {allowed}).")


def _resolve(host: str, port: int, timeout: float) -> tuple[str, ...]:
    if _is_ip(host):
        return (str(ipaddress.ip_address(host)),)
    future = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except TimeoutError:
        raise TargetRefused(f"Looking up {host} took too long.") from None
    except (OSError, UnicodeError):
        raise TargetRefused(f"The host name {host} could not be resolved.") from None
    addresses: list[str] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetRefused(f"The host name {host} could not be resolved.")
    return tuple(addresses)


def target_check(url: str, *, timeout: float = TIMEOUT_SECONDS) -> Target:
    """The checked target of ``url`` (resolved once), or ``TargetRefused`` saying why not."""
    scheme, host, port, path = _parse(url)
    _check_scheme_and_port(scheme, port)
    addresses = _resolve(host, port, timeout)
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            if reason := address_refusal(address):
                resolved = "" if address == host else f"{host} resolves to {address}: "
                raise TargetRefused(f"Webhooks are not sent to internal addresses ({resolved}{reason}).")
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, addresses=addresses)


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP to one checked address; ``Host`` stays the target's name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.aborted = False

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def connect(self) -> None:
        self.sock = self._open()

    def abort(self) -> None:
        """Called by the deadline's timer: whatever is blocked on the socket returns."""
        self.aborted = True
        sock: Any = self.sock
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _PinnedTlsConnection(_PinnedConnection):
    """HTTPS to one checked address; SNI and the certificate check use the target's name."""

    def connect(self) -> None:
        self.sock = self._open()
        self.sock = _tls_context().wrap_socket(self.sock, server_hostname=self.host)


def target_post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_SECONDS) -> Answer:
    """POST ``body`` to the checked target; ``TargetUnreachable`` if it cannot be reached in time.

    Addresses are tried in order while connecting fails; once a request was sent it
    is never sent again to another address.
    """
    deadline = time.monotonic() + timeout
    errors: list[str] = []
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        kind = _PinnedTlsConnection if target.scheme == "https" else _PinnedConnection
        connection = kind(target.host, target.port, address=address, timeout=remaining)
        timer = threading.Timer(remaining, connection.abort)
        timer.daemon = True
        timer.start()
        try:
            try:
                connection.connect()
            except (OSError, ssl.SSLError) as exc:
                if connection.aborted:
                    raise TargetUnreachable(f"No answer within {timeout:g} s.") from None
                errors.append(f"{address}: {_describe(exc)}")
                continue
            try:
                connection.request("POST", target.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read(MAX_RESPONSE_BYTES)
            except (OSError, http.client.HTTPException) as exc:
                if connection.aborted:
                    raise TargetUnreachable(f"No answer within {timeout:g} s.") from None
                raise TargetUnreachable(f"The connection failed: {_describe(exc)}") from None
            if connection.aborted:
                raise TargetUnreachable(f"No answer within {timeout:g} s.")
            return Answer(status=response.status, body=data)
        finally:
            timer.cancel()
            connection.close()
    if not errors:
        raise TargetUnreachable(f"No answer within {timeout:g} s.")
    raise TargetUnreachable("Could not connect: " + "; ".join(errors))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted ({exc.verify_message})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text[:200]
