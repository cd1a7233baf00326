"""Leaked keys revoke themselves: ``POST /api/secret-scanning/github`` as GitHub calls it.

GitHub is played by this test: its own ECDSA P-256 key pair signs each report, and its
public key list is served on 127.0.0.1 by a tiny HTTP server, the way GitHub serves
``/meta/public_keys/secret_scanning``. E-mails are Django's locmem outbox. Time moves
with time-machine. The last test runs two real servers (PostgreSQL + Redis).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import time_machine
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import AuditEvent, Role
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.secret_scanning import github_keys_forget
from apikeys.services import api_key_revoke
from tests import factories
from tests.live import free_port, start_server, stop_server
from webhooks.models import HookSubscription
from webhooks.services import hook_create

URL = "/api/secret-scanning/github"
FOUND_AT = "https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt"


def pem(private: ec.EllipticCurvePrivateKey) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class GitHub:
    """GitHub's side: signing keys by identifier, the list it publishes, and how often it was fetched."""

    port: int = 0
    keys: dict[str, ec.EllipticCurvePrivateKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)  # the identifiers the list shows
    fetches: int = 0
    redirect_to: str = ""  # when set, the list answers a 302 to this URL

    @property
    def keys_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/meta/public_keys/secret_scanning"

    def new_key(self, key_id: str, *, publish: bool = True) -> str:
        self.keys[key_id] = ec.generate_private_key(ec.SECP256R1())
        if publish:
            self.published.append(key_id)
        return key_id

    def key_list(self) -> bytes:
        return json.dumps(
            {
                "public_keys": [
                    {
                        "key_identifier": key_id,
                        "key": pem(self.keys[key_id]),
                        "is_current": key_id == self.published[-1],
                    }
                    for key_id in self.published
                ]
            }
        ).encode()

    def sign(self, body: bytes, key_id: str) -> dict[str, str]:
        signature = self.keys[key_id].sign(body, ec.ECDSA(hashes.SHA256()))
        return {
            "Github-Public-Key-Identifier": key_id,
            "Github-Public-Key-Signature": base64.b64encode(signature).decode(),
        }


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, server.server_address[1]


def key_list_handler(github: GitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            github.fetches += 1
            moved = github.keys_url if self.path == "/old-address" else github.redirect_to
            if moved:
                self.send_response(302)
                self.send_header("Location", moved)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = github.key_list() if self.path.startswith("/meta/public_keys/secret_scanning") else b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def github(settings) -> Iterator[GitHub]:
    state = GitHub()
    state.new_key("bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c")
    server, state.port = serve(key_list_handler(state))
    settings.SECRET_SCANNING_GITHUB_KEYS_URL = state.keys_url
    github_keys_forget()  # as a fresh process: nothing fetched yet
    yield state
    github_keys_forget()
    server.shutdown()
    server.server_close()


def entry(token: str, **extra: str) -> dict[str, str]:
    return {"token": token, "type": "parley_secret_key", "url": FOUND_AT, "source": "content", **extra}


def report(github: GitHub, entries: Any, *, key_id: str | None = None, client: Client | None = None, **headers):
    body = entries if isinstance(entries, bytes) else json.dumps(entries).encode()
    signed = github.sign(body, key_id or github.published[-1])
    return (client or Client()).post(URL, body, content_type="application/json", headers={**signed, **headers})


def me(plain: str):
    return Client().get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})


@pytest.fixture
def managers(workspace, owner):
    """Who is told: the owner and an admin; a member, a guest and a suspended admin are not."""
    admin = factories.add_member(workspace, Role.ADMIN)
    factories.add_member(workspace, Role.MEMBER)
    factories.add_member(workspace, Role.GUEST)
    factories.add_member(workspace, Role.ADMIN, status="suspended")
    return {owner.email, admin.email}


# --- a live key is revoked, its owners and admins told, and GitHub answered


@pytest.mark.django_db
def test_a_live_key_is_revoked_at_once_and_its_owners_and_admins_are_emailed(
    github, workspace, managers, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.PUBLIC_BASE_URL = "https://parley.example.com"
    key, plain = factories.make_key(workspace, name="Zapier production", scopes=["contacts:read", "tickets:write"])
    assert me(plain).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = report(github, [entry(plain)])

    assert response.status_code == 200, response.content
    assert response.json() == [{"token_raw": plain, "token_type": "parley_secret_key", "label": "true_positive"}]
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response
    refused = me(plain)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_revoked"
    key.refresh_from_db()
    assert key.revoked_at is not None

    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.actor_kind == "system"
    assert event.actor_label == "GitHub secret scanning"
    assert event.workspace == workspace
    assert event.target_id == str(key.pk)
    assert event.ip == "127.0.0.1"
    assert event.details["found_at"] == FOUND_AT
    assert event.details["source"] == "content"
    assert event.details["via"] == "github_secret_scanning"
    assert FOUND_AT in event.details["reason"]
    assert "GitHub" in event.details["reason"]

    assert {address for mail in mailoutbox for address in mail.to} == managers
    assert all(len(mail.to) == 1 for mail in mailoutbox)  # one each: nobody sees the others' addresses
    mail = mailoutbox[0]
    assert "Zapier production" in mail.subject
    assert key.hint in mail.subject
    assert "revoked" in mail.subject
    text = mail.body
    assert plain not in text  # never the key itself
    assert plain not in mail.subject
    assert FOUND_AT in text  # where it was found
    assert "GitHub secret scanning" in text
    assert key.hint in text  # what was revoked
    assert "contacts:read, tickets:write" in text
    assert f"https://parley.example.com/settings/api-keys/{key.pk}/" in text
    assert "https://parley.example.com/settings/api-keys/new/" in text  # how to replace it
    assert "api_key_revoked" in text
    assert workspace.name in text


@pytest.mark.django_db
def test_a_replayed_report_changes_nothing_more(
    github, workspace, managers, mailoutbox, django_capture_on_commit_callbacks
):
    key, plain = factories.make_key(workspace)
    body = json.dumps([entry(plain)]).encode()
    with django_capture_on_commit_callbacks(execute=True):
        first = report(github, body)
    revoked_at = ApiKey.objects.get(pk=key.pk).revoked_at
    sent = len(mailoutbox)
    assert sent == len(managers)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = report(github, body)  # the same signed bytes, sent again
    assert again.status_code == 200
    assert (
        again.json()
        == first.json()
        == [{"token_raw": plain, "token_type": "parley_secret_key", "label": "true_positive"}]
    )
    assert callbacks == []
    assert len(mailoutbox) == sent  # no second e-mail
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1
    assert ApiKey.objects.get(pk=key.pk).revoked_at == revoked_at


@pytest.mark.django_db
def test_each_entry_is_labelled_in_order(github, workspace, owner, mailoutbox, django_capture_on_commit_callbacks):
    live, live_plain = factories.make_key(workspace)
    publishable, publishable_plain = factories.make_key(workspace, kind="publishable")
    revoked, revoked_plain = factories.make_key(workspace)
    api_key_revoke(key=revoked, actor=Actor.for_user(owner))
    expired, expired_plain = factories.make_key(workspace)
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    unknown = keys.generate("secret")  # well formed, checksum right, but no such key
    bad_checksum = live_plain[:-1] + ("a" if live_plain[-1] != "a" else "b")
    entries = [
        entry(live_plain),
        entry("ghp_notParleysAtAll0123456789", type="github_personal_access_token"),
        entry(revoked_plain),
        entry(unknown),
        entry(expired_plain),
        entry(bad_checksum),
        entry(live_plain.replace("wsk_live_", "wsk_test_")),
        entry(publishable_plain, type="parley_publishable_key"),
        entry(live_plain),  # the same key twice in one report
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = report(github, entries)
    assert response.status_code == 200
    assert [(e["token_raw"], e["token_type"], e["label"]) for e in response.json()] == [
        (live_plain, "parley_secret_key", "true_positive"),
        ("ghp_notParleysAtAll0123456789", "github_personal_access_token", "false_positive"),
        (revoked_plain, "parley_secret_key", "true_positive"),  # already revoked: still ours
        (unknown, "parley_secret_key", "false_positive"),
        (expired_plain, "parley_secret_key", "false_positive"),
        (bad_checksum, "parley_secret_key", "false_positive"),
        (live_plain.replace("wsk_live_", "wsk_test_"), "parley_secret_key", "false_positive"),
        (publishable_plain, "parley_publishable_key", "true_positive"),
        (live_plain, "parley_secret_key", "true_positive"),
    ]
    assert set(ApiKey.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)) == {
        live.pk,
        revoked.pk,
        publishable.pk,
    }
    assert ApiKey.objects.get(pk=expired.pk).revoked_at is None  # an expired key is left as it is
    assert sorted(mail.subject.split('"')[1] for mail in mailoutbox) == sorted([live.name, publishable.name])
    assert AuditEvent.objects.filter(action="api_key.revoked", actor_label="GitHub secret scanning").count() == 2


@pytest.mark.django_db
def test_an_empty_report_is_an_empty_answer(github):
    response = report(github, [])
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.django_db(transaction=True)
def test_revoking_removes_the_keys_webhook_subscriptions(github, workspace, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    key, plain = factories.make_key(workspace, scopes=["events:read"])
    hook, _ = hook_create(
        workspace=workspace,
        actor=Actor.for_api_key(key_id=key.pk, hint=key.hint),
        key_id=key.pk,
        target_url="http://127.0.0.1:9/hook",
        event="contact.created",
    )
    assert report(github, [entry(plain)]).json()[0]["label"] == "true_positive"
    assert HookSubscription.objects.get(pk=hook.pk).disabled_reason == "key_revoked"


@pytest.mark.django_db
def test_a_mail_server_that_fails_does_not_undo_the_revocation(
    github, workspace, owner, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2  # nothing listens
    _, plain = factories.make_key(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = report(github, [entry(plain)])
    assert response.status_code == 200
    assert response.json()[0]["label"] == "true_positive"
    assert me(plain).status_code == 401
    assert "could not be sent" in caplog.text


# --- refused: unsigned, forged, unknown key, malformed; nothing changes


def _nothing_changed(plain: str, mailoutbox) -> None:
    assert me(plain).status_code == 200
    assert not AuditEvent.objects.filter(action="api_key.revoked").exists()
    assert mailoutbox == []


def _refused(response, status: int = 403, code: str = "invalid_signature") -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    return error


@pytest.mark.django_db
def test_a_forged_signature_changes_nothing(github, workspace, owner, mailoutbox, django_capture_on_commit_callbacks):
    _, plain = factories.make_key(workspace)
    body = json.dumps([entry(plain)]).encode()
    real_id = github.published[-1]
    forger = ec.generate_private_key(ec.SECP256R1())
    forged = base64.b64encode(forger.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    other_body = json.dumps([entry(keys.generate("secret"))]).encode()
    with django_capture_on_commit_callbacks(execute=True):
        attempts = [
            # the right key id, someone else's signature
            Client().post(
                URL,
                body,
                content_type="application/json",
                headers={"Github-Public-Key-Identifier": real_id, "Github-Public-Key-Signature": forged},
            ),
            # GitHub's signature of another body
            Client().post(URL, body, content_type="application/json", headers=github.sign(other_body, real_id)),
            # the body changed after signing
            Client().post(
                URL,
                body.replace(b"content", b"commits"),
                content_type="application/json",
                headers=github.sign(body, real_id),
            ),
            # not base64, not DER
            Client().post(
                URL,
                body,
                content_type="application/json",
                headers={"Github-Public-Key-Identifier": real_id, "Github-Public-Key-Signature": "not base64!"},
            ),
            Client().post(
                URL,
                body,
                content_type="application/json",
                headers={"Github-Public-Key-Identifier": real_id, "Github-Public-Key-Signature": "AAAA"},
            ),
        ]
    for response in attempts:
        error = _refused(response)
        assert error["message"] == "GitHub signature missing or wrong"
        assert "Github-Public-Key-Signature" in error["hint"]
    _nothing_changed(plain, mailoutbox)


@pytest.mark.django_db
def test_missing_headers_are_refused(github, workspace, mailoutbox, django_capture_on_commit_callbacks):
    _, plain = factories.make_key(workspace)
    body = json.dumps([entry(plain)]).encode()
    signed = github.sign(body, github.published[-1])
    with django_capture_on_commit_callbacks(execute=True):
        for headers in [
            {},
            {"Github-Public-Key-Identifier": signed["Github-Public-Key-Identifier"]},
            {"Github-Public-Key-Signature": signed["Github-Public-Key-Signature"]},
            {**signed, "Github-Public-Key-Identifier": " "},
        ]:
            _refused(Client().post(URL, body, content_type="application/json", headers=headers))
    _nothing_changed(plain, mailoutbox)


@pytest.mark.django_db
def test_a_key_github_does_not_list_is_refused_and_the_list_fetched_again_at_most_once_a_minute(
    github, workspace, mailoutbox, django_capture_on_commit_callbacks
):
    _, plain = factories.make_key(workspace)
    unlisted = github.new_key("not-published-by-github", publish=False)
    with time_machine.travel(timezone.now(), tick=False) as clock, django_capture_on_commit_callbacks(execute=True):
        assert report(github, [entry(keys.generate("secret"))]).status_code == 200
        assert github.fetches == 1
        _refused(report(github, [entry(plain)], key_id=unlisted))
        assert github.fetches == 1  # the list is not a minute old: not fetched again
        clock.shift(timedelta(seconds=61))
        for _ in range(5):  # forged identifiers cannot make Parley hammer GitHub
            _refused(report(github, [entry(plain)], key_id=unlisted))
        assert github.fetches == 2  # fetched again for the unknown id, once
        clock.shift(timedelta(seconds=61))
        _refused(report(github, [entry(plain)], key_id=unlisted))
        assert github.fetches == 3  # a minute later, once more
    _nothing_changed(plain, mailoutbox)


@pytest.mark.django_db
def test_the_key_list_is_cached_and_a_new_github_key_is_picked_up(
    github, workspace, mailoutbox, django_capture_on_commit_callbacks
):
    _, plain = factories.make_key(workspace)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(3):
            assert report(github, [entry(keys.generate("secret"))]).status_code == 200
        assert github.fetches == 1  # cached in the shared cache
        clock.shift(timedelta(minutes=2))
        rotated = github.new_key("a-new-github-key")  # GitHub rotates its signing key
        with django_capture_on_commit_callbacks(execute=True):
            response = report(github, [entry(plain)], key_id=rotated)
        assert response.status_code == 200
        assert response.json()[0]["label"] == "true_positive"
        assert github.fetches == 2
        old_id = github.published[0]
        assert report(github, [entry(keys.generate("secret"))], key_id=old_id).status_code == 200  # still listed
        assert github.fetches == 2
        clock.shift(timedelta(hours=1, minutes=1))  # an hour on, the list is fetched again before it is trusted
        assert report(github, [entry(keys.generate("secret"))], key_id=rotated).status_code == 200
        assert github.fetches == 3
    assert len(mailoutbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"token": "wsk_live_x", "type": "t"}',  # an object, not GitHub's list
        b'["wsk_live_x"]',
        b'[{"type": "parley_secret_key", "url": "u", "source": "content"}]',  # no token
        b'[{"token": 42, "type": "parley_secret_key"}]',
        b'[{"token": "", "type": "parley_secret_key"}]',
        b'[{"token": "wsk_live_x", "type": "t", "url": ["u"]}]',
        b'[{"token": "wsk_live_x", "type": "t", "n": NaN}]',
    ],
)
def test_a_malformed_report_is_400_and_changes_nothing(
    github, workspace, body, mailoutbox, django_capture_on_commit_callbacks
):
    _, plain = factories.make_key(workspace)
    valid = json.dumps([entry(plain)]).encode()
    # a malformed report that names a real key next to a bad entry revokes nothing either
    if body.startswith(b"[{"):
        body = b"[" + valid[1:-1] + b"," + body[1:]
    with django_capture_on_commit_callbacks(execute=True):
        response = report(github, body)
    _refused(response, 400, "invalid_request")
    _nothing_changed(plain, mailoutbox)


@pytest.mark.django_db
def test_an_unsigned_malformed_report_is_refused_for_its_signature_first(github):
    _refused(Client().post(URL, b"not json", content_type="application/json"))


@pytest.mark.django_db
def test_only_post(github):
    response = Client().get(URL)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


# --- GitHub's key list: fetched with a timeout, never redirected to another host


@pytest.mark.django_db
def test_a_redirect_on_the_same_host_is_followed(github, settings):
    settings.SECRET_SCANNING_GITHUB_KEYS_URL = f"http://127.0.0.1:{github.port}/old-address"
    assert report(github, [entry(keys.generate("secret"))]).status_code == 200
    assert github.fetches == 2  # the old address, then where it points


@pytest.mark.django_db
def test_a_redirect_to_another_host_is_not_followed(github, workspace, mailoutbox):
    elsewhere = GitHub()
    elsewhere.keys = github.keys
    elsewhere.published = list(github.published)
    server, elsewhere.port = serve(key_list_handler(elsewhere))
    try:
        # localhost is another host name than 127.0.0.1, though the same machine
        github.redirect_to = f"http://localhost:{elsewhere.port}/meta/public_keys/secret_scanning"
        _, plain = factories.make_key(workspace)
        response = report(github, [entry(plain)])
        error = _refused(response, 503, "service_unavailable")
        assert "GitHub" in error["message"]
        assert int(response["Retry-After"]) > 0
        assert github.fetches == 1
        assert elsewhere.fetches == 0  # never asked
        _nothing_changed(plain, mailoutbox)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_an_unreachable_key_list_is_503_and_changes_nothing(github, workspace, settings, mailoutbox):
    settings.SECRET_SCANNING_GITHUB_KEYS_URL = f"http://127.0.0.1:{free_port()}/meta/public_keys/secret_scanning"
    _, plain = factories.make_key(workspace)
    response = report(github, [entry(plain)])
    _refused(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) > 0
    _nothing_changed(plain, mailoutbox)


@pytest.mark.django_db
def test_when_github_becomes_unreachable_the_last_list_still_verifies(github, workspace, settings):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert report(github, [entry(keys.generate("secret"))]).status_code == 200
        settings.SECRET_SCANNING_GITHUB_KEYS_URL = f"http://127.0.0.1:{free_port()}/gone"
        clock.shift(timedelta(hours=2))  # stale, and GitHub cannot be reached
        assert report(github, [entry(keys.generate("secret"))]).status_code == 200


# --- rate limit per IP


@pytest.mark.django_db
def test_requests_are_limited_per_ip_signed_or_not(github, settings):
    settings.SECRET_SCANNING_RATE_LIMIT = "3/m"
    for _ in range(3):
        _refused(Client(REMOTE_ADDR="198.51.100.7").post(URL, b"[]", content_type="application/json"))
    limited = report(github, [], client=Client(REMOTE_ADDR="198.51.100.7"))
    _refused(limited, 429, "rate_limited")
    assert 0 < int(limited["Retry-After"]) <= 60
    assert report(github, [], client=Client(REMOTE_ADDR="198.51.100.8")).status_code == 200  # another IP


# --- every process refuses the key on its next request (PostgreSQL + Redis)


@pytest.mark.live
@pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
    reason="needs PostgreSQL + Redis shared by several processes (DATABASE_URL and REDIS_URL)",
)
def test_a_reported_key_is_refused_by_another_server_process_on_its_next_request(github, transactional_db):
    workspace = factories.make_workspace()
    key, plain = factories.make_key(workspace)
    servers = [
        start_server(env={"API_KEY_CACHE_TTL": "300", "SECRET_SCANNING_GITHUB_KEYS_URL": github.keys_url})
        for _ in range(2)
    ]
    try:
        (_, reported_to), (_, other) = servers
        for url in (reported_to, other):  # both hold the key in the shared cache (TTL 300 s)
            for _ in range(2):
                assert requests.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {plain}"}, timeout=5).ok
        body = json.dumps([entry(plain)]).encode()
        answer = requests.post(
            f"{reported_to}{URL}",
            data=body,
            headers={"Content-Type": "application/json", **github.sign(body, github.published[-1])},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == [{"token_raw": plain, "token_type": "parley_secret_key", "label": "true_positive"}]
        refused = requests.get(f"{other}/api/v1/me", headers={"Authorization": f"Bearer {plain}"}, timeout=5)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "api_key_revoked"
        assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
        assert AuditEvent.objects.get(action="api_key.revoked").actor_label == "GitHub secret scanning"
    finally:
        for proc, _ in servers:
            stop_server(proc)
