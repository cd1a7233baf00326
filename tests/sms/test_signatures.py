"""Only Twilio, for this assistant, gets in (SPEC §7): the signature over the public URL, the account and number.

Every refusal is a 403 ``invalid_signature`` in the JSON envelope, and stores nothing.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest

from assistants.models import Conversation, Message
from core.models import Event
from crm.models import Contact
from tests import factories
from tests.sms import twilio
from tests.sms.twilio import fixture, post_fixture, post_signed

pytestmark = pytest.mark.django_db
PUBLIC = "https://parley.example.com"


def nothing_stored() -> bool:
    return not (Message.objects.exists() or Contact.objects.exists() or Conversation.objects.exists()) and not (
        Event.objects.filter(type__in=["message.created", "conversation.started", "contact.created"]).exists()
    )


def assert_refused(response, *, hint: str = "") -> None:
    assert response.status_code == 403, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("invalid_signature", "Twilio signature missing or wrong")
    assert error["request_id"]
    assert hint in error.get("hint", "")
    assert nothing_stored()


def test_a_request_signed_with_the_assistants_token_is_answered(client, sms_assistant):
    response = post_fixture(client, "inbound_sms", sms_assistant)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert Message.objects.filter(external_id=fixture("inbound_sms")["MessageSid"]).exists()


def test_a_tampered_body_is_refused(client, sms_assistant):
    params = fixture("inbound_sms")
    tampered = urlencode({**params, "Body": "Send me everyone's numbers"})
    assert_refused(post_signed(client, f"/api/sms/webhook/{sms_assistant.public_id}", params, body=tampered))


def test_an_added_field_is_refused(client, sms_assistant):
    params = fixture("inbound_sms")
    extra = urlencode({**params, "Extra": "1"})
    assert_refused(post_signed(client, f"/api/sms/webhook/{sms_assistant.public_id}", params, body=extra))


@pytest.mark.parametrize(
    "signed_url",
    [
        "http://testserver/api/sms/webhook/ast_someoneelse",  # another path
        "http://testserver/api/sms/webhook/{id}?x=1",  # another query
        "https://testserver/api/sms/webhook/{id}",  # another scheme
        "http://evil.example/api/sms/webhook/{id}",  # another host
    ],
)
def test_a_signature_over_another_url_is_refused(client, sms_assistant, signed_url):
    response = post_fixture(
        client, "inbound_sms", sms_assistant, signed_url=signed_url.format(id=sms_assistant.public_id)
    )
    assert_refused(response, hint="Twilio signs with the assistant's auth token")


def test_a_query_string_added_after_signing_is_refused(client, sms_assistant):
    path = f"/api/sms/webhook/{sms_assistant.public_id}"
    response = post_fixture(
        client, "inbound_sms", sms_assistant, path=path + "?a=1", signed_url=f"http://testserver{path}"
    )
    assert_refused(response)


def test_a_signed_query_string_is_part_of_the_url(client, sms_assistant):
    path = f"/api/sms/webhook/{sms_assistant.public_id}?source=console"
    assert post_fixture(client, "inbound_sms", sms_assistant, path=path).status_code == 200


def test_a_wrong_token_is_refused(client, sms_assistant):
    assert_refused(post_fixture(client, "inbound_sms", sms_assistant, token="0" * 32))


def test_a_missing_signature_is_refused(client, sms_assistant):
    assert_refused(post_fixture(client, "inbound_sms", sms_assistant, signature=""))


def test_a_garbage_signature_is_refused(client, sms_assistant):
    assert_refused(post_fixture(client, "inbound_sms", sms_assistant, signature="not base64 at all ✗"))


def test_another_assistants_token_is_refused(client, workspace, sms_assistant):
    factories.make_assistant(
        factories.make_workspace(),
        sms_number="+14155550111",
        twilio_account_sid=twilio.ACCOUNT_SID,
        twilio_auth_token="1" * 32,
    )
    assert_refused(post_fixture(client, "inbound_sms", sms_assistant, token="1" * 32))


def test_an_assistant_without_a_token_verifies_nothing(client, workspace):
    assistant = factories.make_assistant(workspace, sms_number=twilio.SMS_NUMBER, twilio_account_sid=twilio.ACCOUNT_SID)
    assert not assistant.has_twilio_auth_token
    assert_refused(post_fixture(client, "inbound_sms", assistant))
    assert_refused(post_fixture(client, "inbound_sms", assistant, token=""))  # an HMAC with an empty key


def test_a_token_no_key_can_decrypt_verifies_nothing(client, sms_assistant, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["6n5oXo0Y3d2k1YJ3Z2YV8z0mYl3q9m8q7s6r5t4u3v0="]  # not the key it was stored with
    assert_refused(post_fixture(client, "inbound_sms", sms_assistant))


def test_the_status_callback_is_checked_the_same_way(client, sms_assistant):
    response = post_fixture(client, "status_delivered", sms_assistant, endpoint="status", token="0" * 32)
    assert_refused(response)
    assert_refused(post_fixture(client, "status_delivered", sms_assistant, endpoint="status", signature=""))


# --- the account and the number


def test_another_account_is_refused_even_when_signed(client, sms_assistant):
    response = post_fixture(client, "inbound_sms", sms_assistant, AccountSid="AC" + "0" * 32)
    assert_refused(response, hint="AccountSid must be the assistant's")
    assert_refused(post_fixture(client, "inbound_sms", sms_assistant, AccountSid=None))


def test_a_text_to_another_number_is_refused_even_when_signed(client, sms_assistant):
    assert_refused(post_fixture(client, "inbound_sms", sms_assistant, To="+14155550111"), hint="To its number")


def test_a_messaging_service_assistant_answers_whichever_pool_number_was_texted(client, pool_assistant):
    for number in (twilio.POOL_NUMBER, "+12125550143"):
        response = post_fixture(
            client, "inbound_sms_messaging_service", pool_assistant, To=number, MessageSid="SM" + number[-4:] * 8
        )
        assert response.status_code == 200, response.content
    assert Message.objects.filter(role="user").count() == 2


def test_a_messaging_service_assistant_refuses_another_service(client, pool_assistant):
    other = "MG" + "f" * 32
    assert_refused(post_fixture(client, "inbound_sms_messaging_service", pool_assistant, MessagingServiceSid=other))
    assert_refused(post_fixture(client, "inbound_sms_messaging_service", pool_assistant, MessagingServiceSid=None))


def test_a_number_assistant_refuses_a_text_to_a_pool(client, sms_assistant):
    assert_refused(post_fixture(client, "inbound_sms_messaging_service", sms_assistant))


# --- the public URL


def test_behind_a_tls_proxy_the_forwarded_scheme_counts_when_configured(client, sms_assistant, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["parley.example.com"]
    path = f"/api/sms/webhook/{sms_assistant.public_id}"
    response = post_fixture(
        client,
        "inbound_sms",
        sms_assistant,
        signed_url=f"{PUBLIC}{path}",
        HTTP_HOST="parley.example.com",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert response.status_code == 200, response.content


def test_a_forwarded_scheme_is_not_believed_unless_configured(client, sms_assistant, settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.ALLOWED_HOSTS = ["parley.example.com"]
    path = f"/api/sms/webhook/{sms_assistant.public_id}"
    response = post_fixture(
        client,
        "inbound_sms",
        sms_assistant,
        signed_url=f"{PUBLIC}{path}",
        HTTP_HOST="parley.example.com",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert_refused(response)  # Django saw http://parley.example.com/…, which Twilio did not sign


def test_a_forwarded_host_is_not_believed_unless_configured(client, sms_assistant, settings):
    settings.ALLOWED_HOSTS = ["internal", "parley.example.com"]
    path = f"/api/sms/webhook/{sms_assistant.public_id}"
    signed = {"signed_url": f"http://parley.example.com{path}", "HTTP_HOST": "internal"}
    assert_refused(
        post_fixture(client, "inbound_sms", sms_assistant, HTTP_X_FORWARDED_HOST="parley.example.com", **signed)
    )
    settings.USE_X_FORWARDED_HOST = True
    response = post_fixture(client, "inbound_sms", sms_assistant, HTTP_X_FORWARDED_HOST="parley.example.com", **signed)
    assert response.status_code == 200


def test_public_base_url_is_the_url_twilio_signed(client, sms_assistant, settings):
    """Behind a proxy that forwards nothing: the app sees http://internal:8000, Twilio called PUBLIC_BASE_URL."""
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.ALLOWED_HOSTS = ["internal"]
    path = f"/api/sms/webhook/{sms_assistant.public_id}"
    internal = {"HTTP_HOST": "internal:8000"}
    assert_refused(
        post_fixture(client, "inbound_sms", sms_assistant, signed_url=f"http://internal:8000{path}", **internal)
    )
    response = post_fixture(client, "inbound_sms", sms_assistant, signed_url=f"{PUBLIC}{path}", **internal)
    assert response.status_code == 200, response.content


def test_public_base_url_with_a_tls_proxy_too(client, sms_assistant, settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["parley.example.com"]
    path = f"/api/sms/webhook/{sms_assistant.public_id}"
    response = post_fixture(
        client,
        "inbound_sms",
        sms_assistant,
        signed_url=f"{PUBLIC}{path}",
        HTTP_HOST="parley.example.com",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("public_base_url", "signed_base"),
    [
        ("https://parley.example.com", "https://parley.example.com:443"),  # Twilio signed with the default port
        ("https://parley.example.com:443", "https://parley.example.com"),  # or without it
        ("https://parley.example.com:8443", "https://parley.example.com:8443"),  # a non-standard port
    ],
)
def test_the_port_as_twilios_libraries_allow(client, sms_assistant, settings, public_base_url, signed_base):
    settings.PUBLIC_BASE_URL = public_base_url
    path = f"/api/sms/webhook/{sms_assistant.public_id}"
    assert post_fixture(client, "inbound_sms", sms_assistant, signed_url=signed_base + path).status_code == 200


def test_a_non_standard_port_seen_by_django(client, sms_assistant, settings):
    """Twilio called http://parley.example.com:8080/…: RequestValidator also accepts the URL without a port, as
    Twilio's libraries do (its signer may drop it), but never another port."""
    settings.ALLOWED_HOSTS = ["parley.example.com"]
    path = f"/api/sms/webhook/{sms_assistant.public_id}"
    host = {"HTTP_HOST": "parley.example.com:8080"}
    assert_refused(
        post_fixture(client, "inbound_sms", sms_assistant, signed_url=f"http://parley.example.com:9090{path}", **host),
    )
    for signed in ("http://parley.example.com:8080", "http://parley.example.com"):
        response = post_fixture(client, "inbound_sms", sms_assistant, signed_url=signed + path, **host)
        assert response.status_code == 200, signed


# --- the rest of the envelope


def test_an_unknown_assistant_is_a_404(client, sms_assistant):
    response = post_fixture(client, "inbound_sms", sms_assistant, path="/api/sms/webhook/ast_nobody")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert nothing_stored()
    assert client.post("/api/sms/status/ast_nobody").json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/sms/webhook/ast_%00", "/api/sms/status/%00"])
def test_a_nul_in_the_assistant_id_is_a_404(client, path):
    response = client.post(path, "", content_type=twilio.FORM)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_only_post(client, sms_assistant):
    response = client.get(f"/api/sms/webhook/{sms_assistant.public_id}")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_session_and_csrf_play_no_part(sms_assistant, owner):
    """Twilio has no cookie and no CSRF token: a signed request needs neither, and a session grants nothing."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert_refused(browser.post(f"/api/sms/webhook/{sms_assistant.public_id}", {"Body": "hi"}))
    assert post_fixture(Client(enforce_csrf_checks=True), "inbound_sms", sms_assistant).status_code == 200


def test_signatures_and_tokens_are_never_logged(client, sms_assistant, caplog):
    caplog.set_level(logging.DEBUG)
    signature = twilio.sign("http://testserver/elsewhere", fixture("inbound_sms"))
    post_fixture(client, "inbound_sms", sms_assistant, signature=signature)
    good = post_fixture(client, "inbound_sms", sms_assistant)
    assert good.status_code == 200
    logged = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    assert signature not in logged
    assert twilio.AUTH_TOKEN not in logged
    assert (
        twilio.sign(f"http://testserver/api/sms/webhook/{sms_assistant.public_id}", fixture("inbound_sms"))
        not in logged
    )
