"""SSRF (SPEC §10): where webhooks may go, checked at subscription and again at every delivery."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

import pytest
from django.utils import timezone

from core.events import emit
from tests import factories
from tests.webhooks.conftest import subscribe
from webhooks.models import Delivery
from webhooks.services import delivery_attempt
from webhooks.targets import (
    MAX_RESPONSE_BYTES,
    Target,
    TargetRefused,
    TargetUnreachable,
    address_refusal,
    target_check,
    target_post,
)

pytestmark = pytest.mark.django_db
HOOKS = "/api/v1/hooks"
PUBLIC = "93.184.215.14"  # a public address: checked, never connected to


@pytest.fixture
def events_key(workspace):
    return factories.make_key(workspace, scopes=["events:read"])


def refused_rows(port: int) -> list[tuple[str, str]]:
    """(URL, what the refusal says) — ``port`` is the test receiver's, allowed by WEBHOOK_ALLOWED_PORTS."""
    return [
        (f"https://127.0.0.1:{port}/hook", "127.0.0.1 is a loopback address"),
        ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        (f"https://[::1]:{port}/hook", "::1 is a loopback address"),
        (f"https://[::ffff:127.0.0.1]:{port}/hook", "IPv4-mapped form of a loopback address, 127.0.0.1"),
        ("https://[2002:7f00:1::]/hook", "6to4 form of a loopback address, 127.0.0.1"),
        (f"http://127.0.0.1:{port}/hook", "Only https:// targets are allowed."),
        (f"https://{PUBLIC}:8443/hook", "Port 8443 is not allowed"),
        (f"https://localhost:{port}/hook", "localhost resolves to 127.0.0.1: 127.0.0.1 is a loopback address"),
    ]


ROWS = [row for row, _ in refused_rows(4000)]


@pytest.mark.parametrize("row", range(len(ROWS)), ids=ROWS)
def test_refused_at_subscription(api_client, events_key, production_targets, row):
    production_targets.WEBHOOK_ALLOWED_PORTS = [4000]
    url, reason = refused_rows(4000)[row]
    body = {"target_url": url, "event": "contact.created"}
    response = api_client.post(HOOKS, body, format="json", HTTP_AUTHORIZATION=f"Bearer {events_key[1]}")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert list(error["fields"]) == ["target_url"]
    assert reason in error["fields"]["target_url"][0]


@pytest.mark.parametrize("row", range(len(ROWS)), ids=ROWS)
def test_refused_at_delivery_and_nothing_is_sent(
    workspace, events_key, receiver, settings, django_capture_on_commit_callbacks, row
):
    """Subscribed while allowed (development), delivered in production mode: nothing leaves."""
    url, reason = refused_rows(receiver.port)[row]
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    subscribe(workspace, events_key[0], url)
    with django_capture_on_commit_callbacks(execute=True):
        emit("contact.created", workspace_id=workspace.pk, data={})
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_ALLOWED_PORTS = [receiver.port]

    delivery = Delivery.objects.get()
    outcome = delivery_attempt(delivery_id=delivery.pk)

    assert receiver.connections == 0
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert outcome.status == "pending"  # retried later, like any failed attempt
    assert (delivery.attempts, delivery.last_status_code) == (1, None)
    assert delivery.last_error.startswith("Not sent: ")
    assert reason in delivery.last_error


@pytest.mark.parametrize(
    ("url", "ports"),
    [
        (f"https://{PUBLIC}/hook", []),
        (f"https://{PUBLIC}:443/hook?zap=1", []),
        (f"https://{PUBLIC}:8443/hook", [8443]),
        ("https://[2606:4700::1111]/hook", []),
    ],
)
def test_public_https_targets_are_accepted(api_client, events_key, production_targets, url, ports):
    production_targets.WEBHOOK_ALLOWED_PORTS = ports
    body = {"target_url": url, "event": "ticket.created"}
    response = api_client.post(HOOKS, body, format="json", HTTP_AUTHORIZATION=f"Bearer {events_key[1]}")
    assert response.status_code == 201, response.content
    assert response.json()["target_url"] == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "Use an https:// URL."),
        ("hooks.example.com/hook", "Use an https:// URL."),
        (f"https://user:secret@{PUBLIC}/hook", "Credentials in the URL are not allowed"),
        ("https:///hook", "The URL has no host."),
        (f"https://{PUBLIC}:99999/hook", "This is not a valid URL."),
        ("https://exa mple.com/", "must not contain spaces"),
        ("https://nonexistent.invalid/hook", "could not be resolved"),
        ("https://" + "a" * 1990 + ".com/", "longer than 2000"),
    ],
)
def test_malformed_targets_are_refused(production_targets, url, reason):
    with pytest.raises(TargetRefused) as refused:
        target_check(url)
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("0.0.0.0", "unspecified"),  # noqa: S104  (an address webhooks must refuse, never bound)
        ("::", "unspecified"),
        ("127.8.9.10", "loopback"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("fe80::1", "link-local"),
        ("fe80::1%1", "scoped"),
        ("fc00::1", "private"),
        ("fec0::1", "site-local"),
        ("::ffff:10.0.0.1", "IPv4-mapped form of a private address, 10.0.0.1"),
        ("::ffff:169.254.169.254", "IPv4-mapped form of a link-local address"),
        ("2002:a9fe:a9fe::", "6to4 form of a link-local address, 169.254.169.254"),
        ("2002:0a00:0001::1", "6to4 form of a private address, 10.0.0.1"),
        ("64:ff9b::7f00:1", "NAT64 form of a loopback address"),
        ("::127.0.0.1", "deprecated IPv4-compatible"),
        ("255.255.255.255", "private"),
    ],
)
def test_internal_addresses_are_refused(address, kind):
    assert kind in (address_refusal(address) or "")


@pytest.mark.parametrize("address", ["8.8.8.8", PUBLIC, "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(address) is None


def test_development_allows_http_any_port_and_loopback(dev_targets, receiver):
    target = target_check(f"http://localhost:{receiver.port}/hook")
    assert target.addresses == ("127.0.0.1",)
    assert target_check(f"http://127.0.0.1:{receiver.port}/hook").addresses == ("127.0.0.1",)


def test_the_connection_goes_to_the_checked_address_with_the_original_host(receiver):
    """No second lookup: this name resolves nowhere, and the request still reaches the pinned address."""
    target = Target(
        url="http://hooks.example.invalid/x",
        scheme="http",
        host="hooks.example.invalid",
        port=receiver.port,
        path="/x?y=1",
        addresses=("127.0.0.1",),
    )
    answer = target_post(target, body=b"{}", headers={"content-type": "application/json"})
    assert answer.status == 200
    assert receiver.requests[0].path == "/x?y=1"
    assert receiver.requests[0].headers["host"] == f"hooks.example.invalid:{receiver.port}"


def test_a_later_address_is_tried_only_when_connecting_fails(receiver):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    target = Target(
        url="http://x/", scheme="http", host="127.0.0.1", port=receiver.port, path="/", addresses=("127.0.0.2",)
    )
    # 127.0.0.2 listens nowhere on this port: connection refused, nothing else to try
    with pytest.raises(TargetUnreachable, match="Could not connect"):
        target_post(replace(target, port=dead_port), body=b"", headers={})
    answer = target_post(replace(target, addresses=("127.0.0.2", "127.0.0.1")), body=b"", headers={})
    assert answer.status == 200
    assert len(receiver.requests) == 1


def test_at_most_64_kib_of_the_answer_is_read(receiver):
    receiver.body_out = b"x" * (1024 * 1024)
    target = target_check_dev(receiver)
    answer = target_post(target, body=b"{}", headers={})
    assert answer.status == 200
    assert len(answer.body) == MAX_RESPONSE_BYTES == 64 * 1024


def target_check_dev(receiver) -> Target:
    return Target(
        url=receiver.url, scheme="http", host="127.0.0.1", port=receiver.port, path="/hook", addresses=("127.0.0.1",)
    )


@pytest.fixture
def slow_drip_server():
    """Answers one byte at a time, each well within a socket timeout: only a deadline stops it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.recv(65536)
            try:
                for byte in b"HTTP/1.1 200 OK\r\n" * 100:
                    if stop.is_set():
                        break
                    conn.sendall(bytes([byte]))
                    time.sleep(0.05)
            except OSError:
                pass
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


def test_the_whole_exchange_has_a_deadline(slow_drip_server):
    target = Target(
        url="http://127.0.0.1/",
        scheme="http",
        host="127.0.0.1",
        port=slow_drip_server,
        path="/",
        addresses=("127.0.0.1",),
    )
    started = time.monotonic()
    with pytest.raises(TargetUnreachable, match=r"No answer within 0\.5 s"):
        target_post(target, body=b"{}", headers={}, timeout=0.5)
    assert time.monotonic() - started < 2


def test_a_delivery_times_out_in_10_seconds_by_default():
    from webhooks import targets

    assert targets.TIMEOUT_SECONDS == 10


def test_the_check_happens_at_every_attempt_not_only_at_subscription(
    workspace, events_key, receiver, settings, django_capture_on_commit_callbacks
):
    """A target that was fine becomes internal (its DNS changed, or the rules did): the next attempt refuses it."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    subscribe(workspace, events_key[0], receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        emit("contact.created", workspace_id=workspace.pk, data={})
        emit("contact.created", workspace_id=workspace.pk, data={})
    first, second = Delivery.objects.order_by("pk")
    assert delivery_attempt(delivery_id=first.pk).status == "succeeded"
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_ALLOWED_PORTS = [receiver.port]
    assert delivery_attempt(delivery_id=second.pk, now=timezone.now()).status == "pending"
    assert len(receiver.requests) == 1


@pytest.fixture
def tls_server(tmp_path):
    """A TLS server on 127.0.0.1 with a self-signed certificate; it notes the SNI name clients send."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.invalid")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.invalid")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    seen: list[str | None] = []
    context.sni_callback = lambda sslobj, server_name, ctx: seen.append(server_name)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        try:
            with context.wrap_socket(conn, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    thread.join(5)
    server.close()


def test_tls_uses_the_original_name_and_checks_the_certificate(tls_server):
    """Pinned to 127.0.0.1, SNI still names the target's host; an untrusted certificate is refused."""
    port, seen = tls_server
    target = Target(
        url=f"https://hooks.example.invalid:{port}/",
        scheme="https",
        host="hooks.example.invalid",
        port=port,
        path="/",
        addresses=("127.0.0.1",),
    )
    with pytest.raises(TargetUnreachable, match="TLS certificate not accepted"):
        target_post(target, body=b"{}", headers={}, timeout=5)
    assert seen == ["hooks.example.invalid"]
