"""OWASP API7:2023 Server Side Request Forgery — a webhook target is the one request Parley sends where a
customer says. It must never reach inside: not at subscription, not at any delivery, not by a name that
changes its answer between the two (DNS rebinding), not by a redirect.

Name resolution is the system's ``socket.getaddrinfo``, replaced here by a stub: numeric hosts (decimal,
octal, hex IPv4…) are parsed by the real one with ``AI_NUMERICHOST`` (no lookup ever leaves the machine),
names come from the test's table, and a name outside it fails the test. Parley's own code runs as is.
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from core.events import emit
from tests import factories
from tests.webhooks.conftest import subscribe
from webhooks import targets
from webhooks.models import Delivery
from webhooks.services import delivery_attempt

pytestmark = pytest.mark.django_db
PUBLIC = "93.184.215.14"  # a public address: checked, never connected to
_real_getaddrinfo = socket.getaddrinfo


@dataclass
class Resolver:
    """What each name resolves to now; every lookup is recorded."""

    names: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups.append(host)
        try:
            return _real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            pass
        if host not in self.names:
            self.unexpected.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in self.names[host]
        ]


@pytest.fixture
def dns(monkeypatch) -> Iterator[Resolver]:
    resolver = Resolver(
        names={
            "hooks.example.test": [PUBLIC],
            "internal.example.test": ["10.0.0.5"],
            "metadata.example.test": ["169.254.169.254"],
            "split.example.test": [PUBLIC, "127.0.0.1"],
            "mapped.example.test": ["::ffff:10.1.2.3"],
        }
    )
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    yield resolver
    assert not resolver.unexpected, f"looked up names outside the test's table: {resolver.unexpected}"


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_ALLOWED_PORTS = []
    return settings


@pytest.fixture
def events_key(workspace):
    return factories.make_key(workspace, scopes=["events:read"])


@pytest.fixture
def emitted(django_capture_on_commit_callbacks):
    """Emit an event as a committed change does: its deliveries exist after this returns."""

    def emit_one(workspace) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            emit("contact.created", workspace_id=workspace.pk, data={})

    return emit_one


# Every form of an internal address an attacker would try, and the words of the refusal.
FORBIDDEN = [
    ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
    ("https://127.8.9.10/hook", "loopback"),
    ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
    ("https://172.16.5.4/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("https://100.64.0.1/hook", "shared (carrier-grade NAT)"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://0/hook", "unspecified"),
    ("https://[::]/hook", "unspecified"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped form of a loopback address, 127.0.0.1"),
    ("https://[::ffff:7f00:1]/hook", "IPv4-mapped form of a loopback address"),
    ("https://[::ffff:169.254.169.254]/hook", "IPv4-mapped form of a link-local address"),
    ("https://[2002:a9fe:a9fe::]/hook", "6to4 form of a link-local address, 169.254.169.254"),
    ("https://[64:ff9b::a00:1]/hook", "NAT64 form of a private address, 10.0.0.1"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://[fc00::1]/hook", "private"),
    ("https://2130706433/hook", "127.0.0.1 is a loopback address"),  # decimal
    ("https://0177.0.0.1/hook", "127.0.0.1 is a loopback address"),  # octal
    ("https://0x7f.0.0.1/hook", "127.0.0.1 is a loopback address"),  # hex
    ("https://0x7f000001/hook", "127.0.0.1 is a loopback address"),
    ("https://127.1/hook", "127.0.0.1 is a loopback address"),  # short form
    ("https://017700000001/hook", "127.0.0.1 is a loopback address"),
    ("https://internal.example.test/hook", "internal.example.test resolves to 10.0.0.5: 10.0.0.5 is a private"),
    ("https://metadata.example.test/hook", "resolves to 169.254.169.254"),
    ("https://split.example.test/hook", "split.example.test resolves to 127.0.0.1"),  # any address counts
    ("https://mapped.example.test/hook", "IPv4-mapped form of a private address, 10.1.2.3"),
    ("http://hooks.example.test/hook", "Only https:// targets are allowed."),
    ("https://hooks.example.test:8443/hook", "Port 8443 is not allowed"),
    ("https://user:pass@hooks.example.test/hook", "Credentials in the URL are not allowed"),
    ("https://hooks.example.test\\@127.0.0.1/hook", "Credentials in the URL are not allowed"),  # parser confusion
    ("https://127.0.0.1#@hooks.example.test/", "127.0.0.1 is a loopback address"),
    ("https://[fe80::1%25eth0]/hook", "scoped (link-local) address"),
    ("file:///etc/passwd", "Use an https:// URL."),
    ("gopher://127.0.0.1:6379/_INFO", "Use an https:// URL."),
]


@pytest.mark.parametrize(("url", "reason"), FORBIDDEN, ids=[url for url, _ in FORBIDDEN])
def test_refused_at_subscription(dns, production, events_key, url, reason):
    response = APIClient().post(
        "/api/v1/hooks",
        {"target_url": url, "event": "contact.created"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {events_key[1]}",
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["target_url"]
    assert reason in response.json()["error"]["fields"]["target_url"][0]


def test_a_public_https_target_is_accepted(dns, production, events_key):
    response = APIClient().post(
        "/api/v1/hooks",
        {"target_url": "https://hooks.example.test/hook", "event": "contact.created"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {events_key[1]}",
    )
    assert response.status_code == 201, response.content


# The receiver listens on 127.0.0.1: each of these forms would reach it if the check let it through.
AT_DELIVERY = [
    "https://127.0.0.1:{port}/hook",
    "https://2130706433:{port}/hook",
    "https://0177.0.0.1:{port}/hook",
    "https://0x7f000001:{port}/hook",
    "https://127.1:{port}/hook",
    "https://[::ffff:127.0.0.1]:{port}/hook",
    "https://0.0.0.0:{port}/hook",
    "https://split.example.test:{port}/hook",
]


@pytest.mark.parametrize("form", AT_DELIVERY)
def test_refused_at_delivery_and_nothing_is_sent(dns, settings, workspace, events_key, receiver, emitted, form):
    """Subscribed while allowed (development), delivered in production mode: no connection at all."""
    dns.names["split.example.test"] = ["127.0.0.1"]
    url = form.format(port=receiver.port)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    subscribe(workspace, events_key[0], url)
    emitted(workspace)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_ALLOWED_PORTS = [receiver.port]
    delivery = Delivery.objects.get()
    assert delivery_attempt(delivery_id=delivery.pk).status == "pending"  # a failed attempt, retried later
    delivery.refresh_from_db()
    assert receiver.connections == 0
    assert delivery.last_error.startswith("Not sent: Webhooks are not sent to internal addresses")


def test_dns_rebinding_public_at_subscription_private_at_delivery_goes_nowhere(
    dns, production, workspace, events_key, receiver, emitted
):
    production.WEBHOOK_ALLOWED_PORTS = [receiver.port]
    url = f"https://rebind.example.test:{receiver.port}/hook"
    dns.names["rebind.example.test"] = [PUBLIC]
    response = APIClient().post(
        "/api/v1/hooks",
        {"target_url": url, "event": "contact.created"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {events_key[1]}",
    )
    assert response.status_code == 201  # public, as far as the subscription could tell
    emitted(workspace)
    dns.names["rebind.example.test"] = ["127.0.0.1"]  # the attacker's DNS now points inside
    delivery = Delivery.objects.get()
    assert delivery_attempt(delivery_id=delivery.pk).status == "pending"
    delivery.refresh_from_db()
    assert receiver.connections == 0
    assert "rebind.example.test resolves to 127.0.0.1" in delivery.last_error


def test_each_attempt_looks_the_name_up_once_and_connects_to_what_it_checked(dns, settings, receiver):
    """No second lookup between the check and the connection: the name could answer differently the second time."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # to reach the receiver on 127.0.0.1
    dns.names["once.example.test"] = ["127.0.0.1"]
    target = targets.target_check(f"http://once.example.test:{receiver.port}/hook")
    dns.names["once.example.test"] = ["10.9.9.9"]  # what a second lookup would get
    answer = targets.target_post(target, body=b"{}", headers={})
    assert answer.status == 200
    assert dns.lookups.count("once.example.test") == 1
    assert receiver.requests[0].headers["host"] == f"once.example.test:{receiver.port}"


@pytest.fixture
def inside() -> Iterator[socket.socket]:
    """An internal service a redirect would point at: a listening socket that notes any connection."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    yield sock
    sock.close()


def _was_reached(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def test_redirects_are_not_followed(dns, settings, workspace, events_key, receiver, inside, emitted):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    subscribe(workspace, events_key[0], receiver.url)
    for status in (301, 302, 303, 307, 308):
        receiver.statuses = [status]
        receiver.headers_out = {"Location": f"http://127.0.0.1:{inside.getsockname()[1]}/internal"}
        emitted(workspace)
        delivery = Delivery.objects.order_by("-pk").first()
        delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_status_code) == ("pending", status)
        assert "redirects are not followed" in delivery.last_error
    assert not _was_reached(inside)
    assert [r.path for r in receiver.requests] == ["/hook"] * 5


def test_at_most_64_kib_of_an_answer_is_read_and_the_exchange_ends_in_10_seconds(dns, settings, receiver):
    receiver.body_out = b"x" * (4 * 1024 * 1024)
    target = targets.Target(
        url=receiver.url, scheme="http", host="127.0.0.1", port=receiver.port, path="/hook", addresses=("127.0.0.1",)
    )
    assert len(targets.target_post(target, body=b"{}", headers={}).body) == 64 * 1024
    assert targets.MAX_RESPONSE_BYTES == 64 * 1024
    # The deadline of every delivery (connect, TLS, request, answer, and the lookup), never waited for here:
    # a slow answer's deadline is tests/webhooks/test_targets.py::test_the_whole_exchange_has_a_deadline.
    assert targets.TIMEOUT_SECONDS == 10
    assert inspect.signature(targets.target_post).parameters["timeout"].default == 10
    assert inspect.signature(targets.target_check).parameters["timeout"].default == 10
