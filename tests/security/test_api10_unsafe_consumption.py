"""OWASP API10:2023 Unsafe Consumption of APIs — what Parley takes from the services it talks to.

Twilio's webhooks are checked before anything in them is used: unsigned (or wrongly
addressed) stores nothing, and a signed one is still untrusted text — each field Parley
uses is validated, bodies are stored as text and escaped where shown, and nothing in a
payload is fetched (media URLs are ignored).

A webhook receiver is the customer's server, or an attacker's: of its answer Parley
uses the status code and nothing else. Its body (huge, binary, malformed, hostile, or
claiming another outcome), its headers (``Retry-After``, ``Location``, cookies) change
nothing; at most its first 200 bytes are kept as text, for support staff, escaped.
"""

from __future__ import annotations

import socket

import pytest
from django.contrib.auth.models import Group

from assistants.models import Conversation, Message
from core.events import emit
from crm.models import Contact
from tests import factories
from tests.sms import twilio
from tests.webhooks.conftest import subscribe
from webhooks.models import Delivery, HookSubscription
from webhooks.services import RETRY_SCHEDULE, delivery_attempt

pytestmark = pytest.mark.django_db


def _nothing_stored() -> bool:
    return not (Message.objects.exists() or Contact.objects.exists() or Conversation.objects.exists())


# --- Twilio


@pytest.mark.parametrize(
    "tampering",
    [
        {"signature": ""},
        {"signature": "bm90IGEgc2lnbmF0dXJl"},
        {"body": "MessageSid=SMx&From=%2B14155550199&To=%2B14155550100&Body=unsigned"},
        {"AccountSid": "AC" + "0" * 32},  # signed, but another account's
        {"To": "+14155550111"},  # signed, but to another number
    ],
)
def test_twilio_payloads_are_checked_before_anything_is_used(client, sms_assistant, tampering):
    kwargs = dict(tampering)
    response = twilio.post_fixture(client, "inbound_sms", sms_assistant, **kwargs)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("From", "<script>alert(1)</script>"),
        ("From", "+1415555019\x00"),
        ("MessageSid", "../../../etc/passwd"),
        ("MessageSid", "SM" + "a" * 100),
        ("Body", "x" * 4001),
        ("Body", "nul\x00byte"),
    ],
)
def test_signed_twilio_fields_are_validated_before_use(client, sms_assistant, field, value):
    response = twilio.post_fixture(client, "inbound_sms", sms_assistant, **{field: value})
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert _nothing_stored()


def test_a_signed_body_is_text_and_its_media_is_never_fetched(client, sms_assistant):
    inside = socket.socket()
    inside.bind(("127.0.0.1", 0))
    inside.listen()
    inside.setblocking(False)
    try:
        media = f"http://127.0.0.1:{inside.getsockname()[1]}/secret"
        hostile = "<Response><Redirect>http://evil.example/</Redirect></Response> ]]> &amp; <b>hi</b>"
        response = twilio.post_fixture(
            client,
            "inbound_sms",
            sms_assistant,
            Body=hostile,
            NumMedia="1",
            MediaUrl0=media,
            MediaContentType0="image/png",
        )
        assert response.status_code == 200
        assert "<Redirect>" not in response.content.decode()  # our TwiML, with the text escaped in it
        assert Message.objects.get(role="user").body == hostile  # stored exactly, as text
        with pytest.raises(BlockingIOError):
            inside.accept()  # nobody connected to the media URL
    finally:
        inside.close()


# --- webhook receivers


@pytest.fixture
def delivered(workspace, settings, receiver, django_capture_on_commit_callbacks):
    """Deliver one event to ``receiver`` answering as the test set it up; the delivery and its subscription."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    key, _ = factories.make_key(workspace, scopes=["events:read"])
    hook, _secret = subscribe(workspace, key, receiver.url)

    def deliver() -> tuple[Delivery, HookSubscription]:
        with django_capture_on_commit_callbacks(execute=True):
            emit("contact.created", workspace_id=workspace.pk, data={})
        delivery = Delivery.objects.order_by("-pk").first()
        delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        hook.refresh_from_db()
        return delivery, hook

    return deliver


HOSTILE_BODIES = {
    "empty": b"",
    "4 MiB": b"x" * (4 * 1024 * 1024),
    "binary with NUL": bytes(range(256)) * 4,
    "malformed JSON": b'{"status": "gone", ',
    "JSON claiming failure": b'{"ok": false, "error": "unsubscribe me", "status": 410}',
    "HTML with a script": b"<html><script>alert(document.cookie)</script>410 Gone</html>",
    "a Parley key": b"wsk_live_" + b"A" * 38,
    "invalid UTF-8": b"\xff\xfe\xfd" * 100,
}


@pytest.mark.parametrize("body", list(HOSTILE_BODIES))
def test_a_2xx_is_a_success_whatever_the_body_says(receiver, delivered, body):
    receiver.body_out = HOSTILE_BODIES[body]
    receiver.headers_out = {"Content-Type": "application/json", "Retry-After": "99999", "Set-Cookie": "a=b"}
    delivery, hook = delivered()
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == ("succeeded", 200, "")
    assert hook.disabled_at is None


@pytest.mark.parametrize("body", list(HOSTILE_BODIES))
def test_a_failure_is_a_failure_whatever_the_body_says(receiver, delivered, body):
    receiver.default = 500
    receiver.body_out = HOSTILE_BODIES[body]
    receiver.headers_out = {"Retry-After": "1", "Location": "http://127.0.0.1:1/"}
    delivery, hook = delivered()
    assert (delivery.status, delivery.last_status_code) == ("pending", 500)
    retry_in = delivery.next_attempt_at - delivery.last_attempt_at
    assert retry_in == RETRY_SCHEDULE[0]  # our schedule, not the receiver's Retry-After
    assert len(delivery.last_error) <= 500
    assert "\x00" not in delivery.last_error
    assert hook.disabled_at is None  # only a 410 status removes it, never a body saying so


def test_what_is_kept_of_an_answer_is_shown_escaped_to_support_staff(client, receiver, delivered):
    receiver.default = 500
    receiver.body_out = b"<script>alert('support')</script>"
    delivery, _ = delivered()
    staff = factories.make_user(is_staff=True)
    staff.groups.add(Group.objects.get(name="Support"))
    client.force_login(staff)
    page = client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").content.decode()
    assert "<script>alert('support')</script>" not in page
    assert "&lt;script&gt;alert(" in page


def test_a_webhook_answer_is_never_followed_or_parsed_into_the_next_attempt(receiver, delivered):
    receiver.statuses = [307]
    receiver.headers_out = {"Location": "https://hooks.example.invalid/elsewhere"}
    delivery, hook = delivered()
    assert (delivery.status, delivery.last_status_code) == ("pending", 307)
    assert hook.target_url == f"http://127.0.0.1:{receiver.port}/hook"  # unchanged by the answer
    assert len(receiver.requests) == 1
