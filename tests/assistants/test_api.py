"""The in-app API for assistants, grants, the identity secret and chats, as the app's browser code uses it."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from accounts.models import AuditEvent, Membership, Role
from assistants.models import Assistant, Conversation
from assistants.responders import FOLLOW_UP_REPLY
from core.crypto import decrypt
from tests import factories

pytestmark = pytest.mark.django_db
TOKEN = "0123456789abcdef0123456789abcdef"  # a Twilio auth token's shape
FAQ = [{"question": "What are your opening hours?", "answer": "9 to 5, Monday to Friday."}]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client, method, url, body=None):
    return getattr(client, method)(url, json.dumps(body) if body is not None else None, content_type="application/json")


def fields_of(response):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    return error["fields"]


# --- create, read, update, delete


def test_an_admin_creates_an_assistant_with_every_field(workspace, admin_user):
    body = {
        "name": "Help center",
        "visibility": "public",
        "widget_enabled": True,
        "allowed_origins": ["https://Shop.Example.com/", "https://*.example.org"],
        "greeting": "Hi! How can we help?",
        "theme": {"color": "#4f46e5"},
        "lead_capture": True,
        "identity_verification": "off",
        "faq": FAQ,
        "help_text": "Reply STOP to opt out.",
        "sms_number": "+14155550123",
        "twilio_account_sid": "AC" + "a" * 32,
        "twilio_messaging_service_sid": "MG" + "b" * 32,
        "twilio_auth_token": TOKEN,
    }
    response = send(logged_in(admin_user), "post", "/api/assistants", body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["id"].startswith("ast_")
    assert data["allowed_origins"] == ["https://*.example.org", "https://shop.example.com"]
    assert data["faq"] == FAQ
    assert data["has_twilio_auth_token"] is True
    assert data["has_identity_secret"] is False
    assert data["created_by"]["email"] == admin_user.email
    assert TOKEN not in response.content.decode()
    stored = Assistant.objects.get(public_id=data["id"])
    assert TOKEN not in stored.twilio_auth_token_encrypted
    assert decrypt(stored.twilio_auth_token_encrypted) == TOKEN
    assert AuditEvent.objects.filter(action="assistant.created", actor_user=admin_user).exists()


def test_public_ids_do_not_count(workspace):
    first, second = factories.make_assistant(workspace), factories.make_assistant(workspace)
    assert first.public_id != second.public_id


def test_members_see_a_short_view_without_settings(workspace, member):
    assistant = factories.make_assistant(workspace, visibility="public", faq=(("q", "a"),), sms_number="+14155550123")
    data = logged_in(member).get(f"/api/assistants/{assistant.public_id}").json()
    assert set(data) == {"id", "name", "visibility", "greeting", "help_text", "created_at"}


def named(field: str, fields: dict) -> bool:
    """The field, or one of its items' (``faq.0.question``: errors inside a list are named by path)."""
    return any(name == field or name.startswith(f"{field}.") for name in fields)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 101}, "name"),
        ({"name": ""}, "name"),
        ({"name": ["not", "text"]}, "name"),
        ({"greeting": "x" * 1001}, "greeting"),
        ({"help_text": "x" * 1001}, "help_text"),
        ({"faq": [{"question": "q", "answer": "a"}] * 201}, "faq"),
        ({"faq": [{"question": "q" * 501, "answer": "a"}]}, "faq"),
        ({"faq": [{"question": "q", "answer": "a" * 5001}]}, "faq"),
        ({"faq": [{"question": "q"}]}, "faq"),
        ({"allowed_origins": [f"https://s{i}.example.com" for i in range(51)]}, "allowed_origins"),
        ({"allowed_origins": ["ftp://example.com"]}, "allowed_origins"),
        ({"allowed_origins": "https://example.com"}, "allowed_origins"),
        ({"theme": {"color": "red"}}, "theme"),
        ({"theme": {"color": "#ffffff", "font": "Comic Sans"}}, "theme"),
        ({"visibility": "secret"}, "visibility"),
        ({"identity_verification": "sometimes"}, "identity_verification"),
        ({"sms_number": "0044 20 7946 0000"}, "sms_number"),
        ({"twilio_account_sid": "not-a-sid"}, "twilio_account_sid"),
        ({"twilio_messaging_service_sid": "AC" + "a" * 32}, "twilio_messaging_service_sid"),
        ({"widget_enabled": "perhaps"}, "widget_enabled"),
        ({"workspace": 1}, "workspace"),
        ({"public_id": "ast_mine"}, "public_id"),
        ({"identity_secret": "chosen-by-me"}, "identity_secret"),
        ({"created_by": 1}, "created_by"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(workspace, owner, body, field):
    assistant = factories.make_assistant(workspace, name="Original")
    client = logged_in(owner)
    assert named(field, fields_of(send(client, "patch", f"/api/assistants/{assistant.public_id}", body)))
    assert Assistant.objects.get(pk=assistant.pk).name == "Original"
    assert named(field, fields_of(send(client, "post", "/api/assistants", {"name": "New", **body})))
    assert Assistant.objects.count() == 1


def test_malformed_json_is_a_400(workspace, owner):
    response = logged_in(owner).post("/api/assistants", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_update_and_delete_are_audited(workspace, owner):
    assistant = factories.make_assistant(workspace)
    client = logged_in(owner)
    response = send(client, "patch", f"/api/assistants/{assistant.public_id}", {"greeting": "Hello", "faq": FAQ})
    assert response.json()["faq"] == FAQ
    assert AuditEvent.objects.get(action="assistant.updated").details == {"changed": ["faq", "greeting"]}
    assert client.delete(f"/api/assistants/{assistant.public_id}").status_code == 204
    assert AuditEvent.objects.filter(action="assistant.deleted").exists()
    assert client.get(f"/api/assistants/{assistant.public_id}").status_code == 404


def test_the_twilio_token_is_write_only_and_can_be_cleared(workspace, owner):
    assistant = factories.make_assistant(workspace)
    client = logged_in(owner)
    url = f"/api/assistants/{assistant.public_id}"
    set_ = send(client, "patch", url, {"twilio_auth_token": TOKEN})
    assert set_.json()["has_twilio_auth_token"] is True
    assert TOKEN not in set_.content.decode()
    assert TOKEN not in client.get(url).content.decode()
    assert AuditEvent.objects.get(action="assistant.updated").details == {"changed": ["twilio_auth_token"]}
    assert send(client, "patch", url, {"twilio_auth_token": ""}).json()["has_twilio_auth_token"] is False


# --- identity secret


def test_the_identity_secret_is_shown_once_encrypted_at_rest_and_rotates(workspace, owner, caplog):
    assistant = factories.make_assistant(workspace)
    client = logged_in(owner)
    url = f"/api/assistants/{assistant.public_id}/identity-secret"
    with caplog.at_level(logging.DEBUG):
        first = client.post(url, content_type="application/json")
    assert first.status_code == 201
    assert first["Cache-Control"] == "no-store"
    secret = first.json()["identity_secret"]
    assert len(secret) >= 40
    assert secret not in caplog.text
    stored = Assistant.objects.get(pk=assistant.pk)
    assert secret not in stored.identity_secret_encrypted
    assert decrypt(stored.identity_secret_encrypted) == secret
    detail = client.get(f"/api/assistants/{assistant.public_id}")
    assert detail.json()["has_identity_secret"] is True
    assert secret not in detail.content.decode()
    second = client.post(url, content_type="application/json").json()["identity_secret"]
    assert second != secret
    assert AuditEvent.objects.filter(action="assistant.identity_secret_rotated").count() == 2
    assert secret not in json.dumps(list(AuditEvent.objects.values("details")))


def test_members_cannot_make_an_identity_secret(workspace, member):
    assistant = factories.make_assistant(workspace, visibility="public")
    response = logged_in(member).post(f"/api/assistants/{assistant.public_id}/identity-secret")
    assert response.status_code == 403
    assert not Assistant.objects.get(pk=assistant.pk).has_identity_secret


def test_identity_verification_needs_a_secret_first(workspace, owner):
    assistant = factories.make_assistant(workspace)
    client = logged_in(owner)
    url = f"/api/assistants/{assistant.public_id}"
    assert "identity_verification" in fields_of(send(client, "patch", url, {"identity_verification": "required"}))
    assert send(client, "post", f"{url}/identity-secret").status_code == 201
    assert send(client, "patch", url, {"identity_verification": "required"}).status_code == 200


# --- grants


def test_grants_open_a_private_assistant_to_a_member_and_close_it_again(workspace, owner, member):
    assistant = factories.make_assistant(workspace, visibility="private")
    url = f"/api/assistants/{assistant.public_id}"
    owner_client, member_client = logged_in(owner), logged_in(member)
    assert member_client.get(url).status_code == 404
    added = send(owner_client, "post", f"{url}/grants", {"user_id": member.pk})
    assert added.status_code == 201
    assert [g["user"]["email"] for g in added.json()["results"]] == [member.email]
    assert member_client.get(url).status_code == 200
    assert send(owner_client, "delete", f"{url}/grants", {"user_id": member.pk}).status_code == 204
    assert member_client.get(url).status_code == 404
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="assistant.grant")] == [
        "assistant.grant_removed",
        "assistant.grant_added",
    ]


def test_grants_only_for_private_assistants_and_active_members(workspace, owner, member):
    client = logged_in(owner)
    shared = factories.make_assistant(workspace, visibility="workspace")
    assert "user_id" in fields_of(
        send(client, "post", f"/api/assistants/{shared.public_id}/grants", {"user_id": member.pk})
    )
    private = factories.make_assistant(workspace, visibility="private")
    outsider = factories.owner_of(factories.make_workspace())
    url = f"/api/assistants/{private.public_id}/grants"
    assert "user_id" in fields_of(send(client, "post", url, {"user_id": outsider.pk}))
    assert "user_id" in fields_of(send(client, "post", url, {"user_id": "me"}))
    assert "email" in fields_of(send(client, "post", url, {"user_id": member.pk, "email": member.email}))


def test_the_creator_of_a_private_assistant_manages_its_grants_after_a_demotion(workspace):
    creator = factories.add_member(workspace, Role.ADMIN)
    assistant = factories.make_assistant(workspace, visibility="private", created_by=creator)
    Membership.objects.filter(user=creator).update(role=Role.MEMBER)
    colleague = factories.add_member(workspace, Role.MEMBER)
    url = f"/api/assistants/{assistant.public_id}/grants"
    assert send(logged_in(creator), "post", url, {"user_id": colleague.pk}).status_code == 201
    # the colleague now sees it, but may not share it further
    assert logged_in(colleague).get(url).status_code == 403


# --- chats


def test_a_member_chats_and_the_faq_answers(workspace, member):
    assistant = factories.make_assistant(workspace, faq=(("What are your opening hours?", "9 to 5."),))
    client = logged_in(member)
    started = send(client, "post", "/api/chats", {"assistant": assistant.public_id, "message": "opening hours?"})
    assert started.status_code == 201
    chat = started.json()
    assert chat["id"].startswith("conv_")
    assert chat["channel"] == "app"
    assert [m["body"] for m in chat["messages"]] == ["opening hours?", "9 to 5."]
    posted = send(client, "post", f"/api/chats/{chat['id']}/messages", {"body": "and the meaning of life?"})
    assert posted.status_code == 201
    assert posted.json()["reply"]["body"] == FOLLOW_UP_REPLY
    history = client.get(f"/api/chats/{chat['id']}/messages").json()
    assert [m["role"] for m in history["results"]] == ["assistant", "user", "assistant", "user"]  # newest first
    assert client.get("/api/chats").json()["results"][0]["id"] == chat["id"]


def test_members_read_their_own_chats_admins_read_all_guests_read_public_ones(workspace, member, admin_user, guest):
    public = factories.make_assistant(workspace, visibility="public")
    own = send(logged_in(member), "post", "/api/chats", {"assistant": public.public_id}).json()["id"]
    other_member = factories.add_member(workspace, Role.MEMBER)
    for reader, sees in [(member, True), (other_member, False), (admin_user, True), (guest, True)]:
        client = logged_in(reader)
        listed = [c["id"] for c in client.get("/api/chats").json()["results"]]
        assert (own in listed) == sees, reader
        assert client.get(f"/api/chats/{own}/messages").status_code == (200 if sees else 404)
    # only the member whose chat it is writes in it
    assert send(logged_in(admin_user), "post", f"/api/chats/{own}/messages", {"body": "hi"}).status_code == 403
    assert send(logged_in(guest), "post", f"/api/chats/{own}/messages", {"body": "hi"}).status_code == 403
    assert send(logged_in(other_member), "post", f"/api/chats/{own}/messages", {"body": "hi"}).status_code == 404


def test_guests_cannot_start_chats(workspace, guest):
    public = factories.make_assistant(workspace, visibility="public")
    response = send(logged_in(guest), "post", "/api/chats", {"assistant": public.public_id})
    assert response.status_code == 403
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"body": ""}, "body"), ({"body": "x" * 4001}, "body"), ({}, "body"), ({"body": "hi", "role": "agent"}, "role")],
)
def test_bad_messages_are_refused(workspace, member, body, field):
    assistant = factories.make_assistant(workspace)
    client = logged_in(member)
    chat = send(client, "post", "/api/chats", {"assistant": assistant.public_id}).json()["id"]
    assert field in fields_of(send(client, "post", f"/api/chats/{chat}/messages", body))
    assert not Conversation.objects.get(public_id=chat).messages.exists()


def test_chat_lists_are_paginated(workspace, member):
    assistant = factories.make_assistant(workspace)
    client = logged_in(member)
    for _ in range(3):
        send(client, "post", "/api/chats", {"assistant": assistant.public_id})
    page = client.get("/api/chats?limit=2").json()
    assert len(page["results"]) == 2
    assert page["next"]
    assert len(client.get(page["next"]).json()["results"]) == 1
