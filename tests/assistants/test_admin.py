"""Assistants, conversations and messages in the admin console (SPEC §8).

Superusers change assistants (secrets write-only, encrypted, never shown back);
Support staff view everything; conversations and messages are read-only for all.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import Actor
from accounts.models import AuditEvent
from assistants.models import Assistant, Conversation, Message
from assistants.services import chat_post_message, chat_start
from core.crypto import decrypt
from tests import factories

pytestmark = pytest.mark.django_db
ASSISTANTS = "/admin/assistants/assistant/"
CONVERSATIONS = "/admin/assistants/conversation/"
MESSAGES = "/admin/assistants/message/"
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def superuser_client(client):
    client.force_login(factories.make_user("root@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def support_client(client):
    user = factories.make_user("support@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.force_login(user)
    return client


@pytest.fixture
def assistant(workspace):
    return factories.make_assistant(workspace, name="Support bot", faq=(("Opening hours?", "9 to 5."),))


@pytest.fixture
def chat(workspace, owner, assistant):
    """A conversation whose first message is hostile markup."""
    conversation = chat_start(assistant=assistant, actor=Actor.for_user(owner), title="Help")
    chat_post_message(conversation=conversation, actor=Actor.for_user(owner), body=SCRIPT)
    return conversation


def change_url(assistant: Assistant) -> str:
    return f"{ASSISTANTS}{assistant.pk}/change/"


def form_data(page: Any, **changes: Any) -> dict[str, Any]:
    """What the browser would post back for the change page ``page``, with ``changes``."""
    data: dict[str, Any] = {}
    form = page.context["adminform"].form
    for name, field in form.fields.items():
        data[name] = form[name].value()
        if field.show_hidden_initial:  # fields with a callable default, e.g. the JSON ones
            data[form[name].html_initial_name] = field.prepare_value(form[name].initial)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management[name].html_name: management[name].value() for name in management.fields})
        for each in formset.forms:
            data.update({each[name].html_name: each[name].value() for name in each.fields})
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def set_secrets(client: Any, assistant: Assistant, token: str, secret: str) -> Any:
    page = client.get(change_url(assistant))
    return client.post(change_url(assistant), form_data(page, twilio_auth_token=token, identity_secret=secret))


def test_secrets_typed_in_are_stored_encrypted_and_never_shown_or_logged(superuser_client, assistant, caplog):
    token, secret = secrets.token_hex(16), secrets.token_urlsafe(24)
    caplog.set_level(logging.DEBUG, logger="django")
    caplog.set_level(logging.DEBUG, logger="parley")
    responses = []
    with CaptureQueriesContext(connection) as queries:  # and SQL logged with its parameters
        form = superuser_client.get(change_url(assistant))
        responses.append(form)
        html = form.content.decode()
        assert 'type="password" name="twilio_auth_token"' in html
        assert 'type="password" name="identity_secret"' in html
        assert html.count('<div class="readonly">not set</div>') == 2
        saved = superuser_client.post(
            change_url(assistant), form_data(form, twilio_auth_token=token, identity_secret=secret), follow=True
        )
        responses.append(saved)
        assert saved.redirect_chain[0] == (ASSISTANTS, 302)
        assistant.refresh_from_db()
        event = AuditEvent.objects.get(action="assistant.updated")
        for path in (
            change_url(assistant),
            ASSISTANTS,
            f"{ASSISTANTS}?q={assistant.public_id}",
            f"{ASSISTANTS}{assistant.pk}/history/",
            "/admin/accounts/auditevent/",
            f"/admin/accounts/auditevent/{event.pk}/change/",
        ):
            responses.append(superuser_client.get(path))
            assert responses[-1].status_code == 200, path

    stored_and_plain = ((assistant.twilio_auth_token_encrypted, token), (assistant.identity_secret_encrypted, secret))
    for stored, plain in stored_and_plain:
        assert stored
        assert plain not in stored
        assert decrypt(stored) == plain
    change_page = responses[2].content.decode()
    assert change_page.count('<div class="readonly">set</div>') == 2
    for response in responses:
        body = response.content.decode()
        for hidden in (token, secret, assistant.twilio_auth_token_encrypted, assistant.identity_secret_encrypted):
            assert hidden not in body, response.request["PATH_INFO"]
    assert token not in str(event.details)
    assert secret not in str(event.details)
    assert queries.captured_queries  # the SQL was seen, parameters included
    logged = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    logged += "".join(query["sql"] for query in queries.captured_queries)
    assert "django.db.backends" in {record.name for record in caplog.records}
    assert token not in logged
    assert secret not in logged


def test_blank_secret_inputs_keep_what_is_stored(superuser_client, assistant):
    token, secret = secrets.token_hex(16), secrets.token_urlsafe(24)
    assert set_secrets(superuser_client, assistant, token, secret).status_code == 302
    assistant.refresh_from_db()
    stored = (assistant.twilio_auth_token_encrypted, assistant.identity_secret_encrypted)

    page = superuser_client.get(change_url(assistant))
    for name in ("twilio_auth_token", "identity_secret"):  # nothing rendered back
        assert re.search(rf'<input type="password" name="{name}"[^>]*value=', page.content.decode()) is None
    data = form_data(page, name="Renamed bot")
    assert superuser_client.post(change_url(assistant), data).status_code == 302
    assistant.refresh_from_db()
    assert assistant.name == "Renamed bot"
    assert (assistant.twilio_auth_token_encrypted, assistant.identity_secret_encrypted) == stored
    assert decrypt(assistant.twilio_auth_token_encrypted) == token
    assert decrypt(assistant.identity_secret_encrypted) == secret


def test_a_secret_typed_into_an_invalid_form_is_not_rendered_back(superuser_client, assistant):
    token = secrets.token_hex(16)
    page = superuser_client.get(change_url(assistant))
    answer = superuser_client.post(change_url(assistant), form_data(page, name="", twilio_auth_token=token))
    assert answer.status_code == 200
    assert "This field is required." in answer.content.decode()
    assert token not in answer.content.decode()
    assistant.refresh_from_db()
    assert not assistant.has_twilio_auth_token


def test_admin_save_is_audited_naming_changed_fields_only(superuser_client, assistant):
    token = secrets.token_hex(16)
    page = superuser_client.get(change_url(assistant))
    data = form_data(page, name="Renamed bot", greeting="Hello there", twilio_auth_token=token)
    data.update({"faq_entries-TOTAL_FORMS": "2", "faq_entries-1-question": "Refunds?", "faq_entries-1-answer": "Yes."})
    data["faq_entries-1-position"] = "1"
    assert superuser_client.post(change_url(assistant), data).status_code == 302
    event = AuditEvent.objects.get(action="assistant.updated")
    assert event.details == {"changed": ["faq", "greeting", "name", "twilio_auth_token"], "via": "admin"}
    assert event.actor_label == "root@example.com"
    assert event.workspace_id == assistant.workspace_id
    assert event.target_id == str(assistant.pk)
    assert assistant.faq_entries.count() == 2

    unchanged = form_data(superuser_client.get(change_url(assistant)))
    assert superuser_client.post(change_url(assistant), unchanged).status_code == 302
    assert AuditEvent.objects.filter(action="assistant.updated").count() == 1  # nothing changed, nothing recorded


def test_identity_verification_needs_a_secret(superuser_client, assistant):
    page = superuser_client.get(change_url(assistant))
    refused = superuser_client.post(change_url(assistant), form_data(page, identity_verification="required"))
    assert refused.status_code == 200
    assert "Type an identity secret below first" in refused.content.decode()
    secret = secrets.token_urlsafe(24)
    data = form_data(page, identity_verification="required", identity_secret=secret)
    assert superuser_client.post(change_url(assistant), data).status_code == 302
    assistant.refresh_from_db()
    assert assistant.identity_verification == "required"
    assert decrypt(assistant.identity_secret_encrypted) == secret


@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        ("allowed_origins", '["https://shop.example.com/path"]', "must be an origin only"),
        ("allowed_origins", '"https://shop.example.com"', "A list of origins"),
        ("theme", '{"color": "red; background: url(x)"}', "Only a colour"),
        ("theme", '{"color": "#aabbcc\\n"}', "Only a colour"),
        ("theme", '{"font": "Comic Sans"}', "Only a colour"),
        ("identity_secret", "short", "at least 16 characters"),
        ("twilio_account_sid", "AC123", "AC followed by 32 hex digits"),
        ("sms_number", "0170 1234", "Use E.164"),
    ],
)
def test_settings_are_checked_like_the_in_app_api(superuser_client, assistant, field, typed, error):
    page = superuser_client.get(change_url(assistant))
    answer = superuser_client.post(change_url(assistant), form_data(page, **{field: typed}))
    assert answer.status_code == 200
    assert error in answer.content.decode()


def test_origins_are_normalized(superuser_client, assistant):
    page = superuser_client.get(change_url(assistant))
    data = form_data(page, allowed_origins='["https://Shop.Example.com/", "https://*.example.org"]')
    assert superuser_client.post(change_url(assistant), data).status_code == 302
    assistant.refresh_from_db()
    assert assistant.allowed_origins == ["https://*.example.org", "https://shop.example.com"]


def test_superuser_adds_and_deletes_assistants_audited(superuser_client, workspace):
    add = superuser_client.get(f"{ASSISTANTS}add/")
    assert add.status_code == 200
    data = form_data(add, workspace=workspace.pk, name="Made in the admin", visibility="public")
    assert superuser_client.post(f"{ASSISTANTS}add/", data).status_code == 302
    made = Assistant.objects.get(name="Made in the admin")
    assert made.workspace == workspace
    assert AuditEvent.objects.get(action="assistant.created", target_id=str(made.pk)).details == {
        "visibility": "public",
        "via": "admin",
    }
    assert superuser_client.post(f"{ASSISTANTS}{made.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Assistant.objects.filter(pk=made.pk).exists()
    assert AuditEvent.objects.get(action="assistant.deleted").details == {
        "name": "Made in the admin",
        "id": made.public_id,
        "via": "admin",
    }


def test_support_group_views_this_app(support_client):
    codenames = set(
        Group.objects.get(name="Support")
        .permissions.filter(content_type__app_label="assistants")
        .values_list("codename", flat=True)
    )
    assert codenames == {"view_assistant", "view_assistantgrant", "view_faqentry", "view_conversation", "view_message"}


def test_support_views_everything_and_changes_nothing(support_client, assistant, chat, workspace):
    message = chat.messages.first()
    for path in (
        ASSISTANTS,
        change_url(assistant),
        CONVERSATIONS,
        f"{CONVERSATIONS}{chat.pk}/change/",
        MESSAGES,
        f"{MESSAGES}{message.pk}/change/",
    ):
        assert support_client.get(path).status_code == 200, path
    for changelist in (ASSISTANTS, CONVERSATIONS, MESSAGES):
        assert f'href="{changelist}add/"' not in support_client.get(changelist).content.decode()
        assert support_client.get(f"{changelist}add/").status_code == 403

    page = support_client.get(change_url(assistant)).content.decode()
    assert "Support bot" in page
    assert "Opening hours?" in page  # the FAQ inline, read-only
    assert 'name="name"' not in page
    assert 'name="twilio_auth_token"' not in page
    assert 'name="identity_secret"' not in page
    assert page.count('<div class="readonly">not set</div>') == 2
    assert 'name="_save"' not in page
    data = {"name": "Hijacked", "visibility": "public", "twilio_auth_token": "x" * 32}
    assert support_client.post(change_url(assistant), data).status_code == 403
    assert support_client.post(f"{ASSISTANTS}{assistant.pk}/delete/", {"post": "yes"}).status_code == 403
    assert support_client.post(f"{CONVERSATIONS}{chat.pk}/delete/", {"post": "yes"}).status_code == 403
    assistant.refresh_from_db()
    assert assistant.name == "Support bot"
    assert not assistant.has_twilio_auth_token
    assert Conversation.objects.filter(pk=chat.pk).exists()


def test_conversations_and_messages_are_read_only_even_for_superusers(superuser_client, chat):
    message = chat.messages.first()
    assert superuser_client.get(f"{CONVERSATIONS}add/").status_code == 403
    assert superuser_client.get(f"{MESSAGES}add/").status_code == 403
    page = superuser_client.get(f"{MESSAGES}{message.pk}/change/").content.decode()
    assert 'name="body"' not in page
    assert superuser_client.post(f"{MESSAGES}{message.pk}/change/", {"body": "edited"}).status_code == 403
    assert superuser_client.post(f"{CONVERSATIONS}{chat.pk}/change/", {"title": "edited"}).status_code == 403
    message.refresh_from_db()
    assert message.body == SCRIPT
    assert superuser_client.post(f"{CONVERSATIONS}{chat.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Message.objects.filter(conversation_id=chat.pk).exists()


def test_message_bodies_are_shown_escaped(superuser_client, chat):
    message = chat.messages.get(role="user")
    for path in (MESSAGES, f"{MESSAGES}{message.pk}/change/", f"{CONVERSATIONS}{chat.pk}/change/"):
        page = superuser_client.get(path).content.decode()
        assert ESCAPED in page, path
        assert SCRIPT not in page, path


def test_messages_are_listed_newest_first_with_a_truncated_body(superuser_client, chat, owner):
    chat_post_message(conversation=chat, actor=Actor.for_user(owner), body="A" * 200)
    page = superuser_client.get(MESSAGES).content.decode()
    for column in ["created_at", "conversation", "role", "short_body", "delivery_status"]:
        assert f"column-{column}" in page
    assert "A" * 79 + "…" in page
    assert "A" * 81 not in page
    newest, oldest = page.index("A" * 79), page.index(ESCAPED)
    assert newest < oldest


def test_assistant_changelist_fits_a_laptop_screen_and_searches(superuser_client, assistant, workspace):
    factories.make_assistant(workspace, name="Other one", visibility="private")
    page = superuser_client.get(ASSISTANTS).content.decode()
    for column in ["name", "workspace", "visibility", "widget_enabled", "created_at"]:
        assert f"column-{column}" in page
    for term in (assistant.public_id, "Support", workspace.name):
        found = superuser_client.get(ASSISTANTS, {"q": term}).content.decode()
        assert "Support bot" in found, term
    filtered = superuser_client.get(ASSISTANTS, {"visibility__exact": "private"}).content.decode()
    assert "Other one" in filtered
    assert "Support bot" not in filtered
