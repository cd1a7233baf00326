"""``config`` and ``session``: what a stranger's page gets before anyone talks (SPEC §5, §2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Workspace
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke
from tests import factories
from tests.widget.conftest import SITE
from widget.models import VisitorSession

pytestmark = pytest.mark.django_db


def test_config_shows_what_the_widget_needs_and_nothing_private(visitor, widget_assistant):
    response = visitor.get("config")
    assert response.status_code == 200
    assert response.json() == {
        "assistant_id": widget_assistant.public_id,
        "name": "Help center",
        "greeting": "Hi! Ask me anything.",
        "theme": {"color": "#0b7285"},
        "lead_capture": True,
        "identity_verification": "off",
    }
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("assistant_id", ["ast_doesnotexist00000000", "x" * 300, "ast_%00"])
def test_an_unknown_assistant_is_404(visitor, assistant_id):
    response = visitor.client.get(f"/api/widget/{assistant_id}/config", headers={"Origin": SITE})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_assistant_whose_widget_is_off_is_404_everywhere(visitor, widget_assistant):
    visitor.start()
    widget_assistant.widget_enabled = False
    widget_assistant.save()
    for response in (visitor.get("config"), visitor.post("session"), visitor.post("chat", {"message": "hi"})):
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such assistant, or its widget is not enabled."


def test_a_suspended_workspace_answers_workspace_inactive(visitor, workspace):
    visitor.get("config")  # cached
    workspace.status = Workspace.Status.SUSPENDED
    workspace.save()
    response = visitor.get("config")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "workspace_inactive"


def test_session_gives_a_token_shown_once_and_stored_hashed(visitor, widget_assistant):
    before = timezone.now()
    response = visitor.post("session")
    assert response.status_code == 201
    data = response.json()
    assert data["session_token"].startswith("wst_")
    assert len(data["session_token"]) == 44
    assert data["visitor_id"].startswith("vis_")
    assert data["conversation_id"].startswith("conv_")
    assert data["verified"] is False
    expires = timezone.datetime.fromisoformat(data["expires_at"])
    assert before + timedelta(minutes=29) < expires <= timezone.now() + timedelta(minutes=30)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    session = VisitorSession.objects.get()
    assert session.digest != data["session_token"]
    assert len(session.digest) == 64
    assert not VisitorSession.objects.filter(hint=data["session_token"]).exists()
    assert session.conversation.public_id == data["conversation_id"]
    assert session.conversation.channel == "widget"


def test_each_anonymous_session_is_a_new_visitor_and_conversation(visitor):
    first, second = visitor.start(), visitor.start()
    assert first["visitor_id"] != second["visitor_id"]
    assert first["conversation_id"] != second["conversation_id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"visitor_id": "vis_someone_else"}, "visitor_id"),
        ({"workspace": 1}, "workspace"),
        ({"publishable_key": "x" * 65}, "publishable_key"),
        ({"user_id": "u1"}, "user_hash"),
        ({"user_token": "a.b.c", "user_id": "u1", "user_hash": "00"}, "user_token"),
    ],
)
def test_session_refuses_fields_it_does_not_take(visitor, body, field):
    response = visitor.post("session", body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"'])
def test_malformed_bodies_are_400(visitor, body):
    response = visitor.client.post(
        visitor.url("session"), body, content_type="application/json", headers={"Origin": SITE}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_body_over_one_mebibyte_is_413(visitor):
    visitor.start()
    response = visitor.post("chat", {"message": "x" * (1024 * 1024 + 1)})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


class TestPublishableKeys:
    def test_a_publishable_key_of_the_workspace_is_accepted_at_config_and_session(self, visitor, publishable_key):
        _key, plain = publishable_key
        assert visitor.get("config", {"key": plain}).status_code == 200
        assert visitor.post("session", {"publishable_key": plain}).status_code == 201
        assert VisitorSession.objects.get().api_key == publishable_key[0]

    @pytest.mark.parametrize("where", ["config", "session"])
    def test_revoked_expired_foreign_and_malformed_keys_are_401(self, visitor, workspace, publishable_key, where):
        key, plain = publishable_key
        other_key = factories.make_key(factories.make_workspace(), kind=ApiKey.Kind.PUBLISHABLE)[1]
        expired = factories.make_key(workspace, kind=ApiKey.Kind.PUBLISHABLE)
        ApiKey.objects.filter(pk=expired[0].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        api_key_revoke(key=key, actor=Actor.for_user(factories.owner_of(workspace)))

        def send(value):
            if where == "config":
                return visitor.get("config", {"key": value})
            return visitor.post("session", {"publishable_key": value})

        for value, code in [
            (plain, "api_key_revoked"),
            (expired[1], "api_key_expired"),
            (other_key, "invalid_api_key"),
            ("wpk_live_nope", "invalid_api_key"),
        ]:
            response = send(value)
            assert response.status_code == 401, value
            assert response.json()["error"]["code"] == code
            assert response.headers["WWW-Authenticate"].startswith('Bearer realm="api"')

    def test_a_secret_key_in_a_web_page_is_refused_with_advice(self, visitor, secret_key):
        response = visitor.post("session", {"publishable_key": secret_key[1]})
        assert response.status_code == 401
        assert "never put it in a web page" in response.json()["error"]["hint"]

    def test_the_keys_own_origins_apply(self, visitor, workspace):
        _key, plain = factories.make_key(
            workspace, kind=ApiKey.Kind.PUBLISHABLE, allowed_origins=["https://other.example.com"]
        )
        response = visitor.post("session", {"publishable_key": plain})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "origin_not_allowed"
        assert "publishable key" in response.json()["error"]["hint"]

    def test_a_key_revoked_after_the_session_started_ends_it(self, visitor, workspace, publishable_key):
        visitor.start(publishable_key=publishable_key[1])
        assert visitor.get("history").status_code == 200
        api_key_revoke(key=publishable_key[0], actor=Actor.for_user(factories.owner_of(workspace)))
        response = visitor.get("history")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "api_key_revoked"
