"""Identity verification (SPEC §5): a JWT ``user_token`` or ``user_id`` + ``user_hash``, with the identity secret.

Tokens are made here the way a customer's server makes them: PyJWT and hmac.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import jwt
import pytest
from django.test import Client

from accounts.actors import Actor
from assistants.models import Assistant
from assistants.services import assistant_identity_secret_rotate, assistant_update
from tests import factories
from tests.widget.conftest import SITE, Visitor

pytestmark = pytest.mark.django_db
FORGED = "a-secret-that-is-not-this-assistants-identity-secret"


@pytest.fixture
def secret(widget_assistant, owner) -> str:
    return assistant_identity_secret_rotate(assistant=widget_assistant, actor=Actor.for_user(owner))


def _mode(assistant: Assistant, owner, mode: str) -> None:
    assistant_update(assistant=assistant, actor=Actor.for_user(owner), identity_verification=mode)


def user_token(secret: str, sub: str = "user-42", *, exp_in: int = 600, **claims) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + exp_in, **claims}, secret, algorithm="HS256")


def user_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def _failed(response, message_part: str = "") -> None:
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "identity_verification_failed"
    assert message_part in error["message"]


class TestRequired:
    @pytest.fixture(autouse=True)
    def _required(self, widget_assistant, owner, secret):
        _mode(widget_assistant, owner, "required")

    def test_a_good_user_token_verifies(self, visitor, secret):
        data = visitor.start(user_token=user_token(secret))
        assert data["verified"] is True

    def test_a_good_user_hash_verifies(self, visitor, secret):
        assert visitor.start(user_id="user-42", user_hash=user_hash(secret, "user-42"))["verified"] is True

    def test_missing_identity_is_refused(self, visitor):
        _failed(visitor.post("session"), "requires identity verification")

    def test_an_expired_token_is_refused_past_the_clock_skew(self, visitor, secret):
        assert visitor.post("session", {"user_token": user_token(secret, exp_in=-20)}).status_code == 201  # skew
        _failed(visitor.post("session", {"user_token": user_token(secret, exp_in=-60)}), "expired")

    @pytest.mark.parametrize(
        "make",
        [
            lambda secret: user_token(FORGED),
            lambda secret: jwt.encode({"sub": "user-42"}, secret, algorithm="HS256"),  # no exp
            lambda secret: jwt.encode({"exp": int(time.time()) + 60}, secret, algorithm="HS256"),  # no sub
            lambda secret: jwt.encode({"sub": "u", "exp": int(time.time()) + 60}, secret * 2, algorithm="HS512"),
            lambda secret: jwt.encode({"sub": "u", "exp": int(time.time()) + 60}, None, algorithm="none"),
            lambda secret: "not.a.jwt",
            lambda secret: user_token(secret)[:-3] + "abc",  # tampered signature
        ],
        ids=["forged", "no-exp", "no-sub", "hs512", "alg-none", "garbage", "tampered"],
    )
    def test_forged_and_malformed_tokens_are_refused(self, visitor, secret, make):
        _failed(visitor.post("session", {"user_token": make(secret)}))

    def test_a_wrong_hash_is_refused(self, visitor, secret):
        _failed(visitor.post("session", {"user_id": "user-42", "user_hash": user_hash(secret, "user-43")}))
        _failed(visitor.post("session", {"user_id": "user-42", "user_hash": user_hash("other", "user-42")}))

    def test_the_same_user_is_the_same_visitor_with_the_same_conversation_on_any_device(self, widget_assistant, secret):
        phone, laptop = Visitor(Client(), widget_assistant), Visitor(Client(), widget_assistant)
        first = phone.start(user_token=user_token(secret))
        phone.post("chat", {"message": "How do I get a refund?"})
        second = laptop.start(user_id="user-42", user_hash=user_hash(secret, "user-42"))
        assert second["visitor_id"] == first["visitor_id"]
        assert second["conversation_id"] == first["conversation_id"]
        assert laptop.get("history").json()["results"][0]["body"] == "How do I get a refund?"
        other = Visitor(Client(), widget_assistant).start(user_token=user_token(secret, sub="user-7"))
        assert other["visitor_id"] != first["visitor_id"]

    def test_a_new_secret_retires_the_old_one(self, visitor, widget_assistant, owner, secret):
        old = user_token(secret)
        assistant_identity_secret_rotate(assistant=widget_assistant, actor=Actor.for_user(owner))
        _failed(visitor.post("session", {"user_token": old}))


def test_optional_verifies_what_is_sent_and_lets_anonymous_visitors_in(visitor, widget_assistant, owner, secret):
    _mode(widget_assistant, owner, "optional")
    assert visitor.start()["verified"] is False
    assert visitor.start(user_token=user_token(secret))["verified"] is True
    _failed(visitor.post("session", {"user_token": user_token(FORGED)}))


def test_off_ignores_identity_fields(visitor, secret):
    assert visitor.start(user_token=user_token(FORGED))["verified"] is False


def test_config_tells_the_widget_the_mode(visitor, widget_assistant, owner, secret):
    _mode(widget_assistant, owner, "required")
    assert visitor.get("config").json()["identity_verification"] == "required"


def test_visitors_are_per_assistant(workspace, owner):
    one = factories.make_assistant(workspace, widget_enabled=True, allowed_origins=[SITE])
    two = factories.make_assistant(workspace, widget_enabled=True, allowed_origins=[SITE])
    ids = []
    for assistant in (one, two):
        plain = assistant_identity_secret_rotate(assistant=assistant, actor=Actor.for_user(owner))
        _mode(assistant, owner, "required")
        ids.append(Visitor(Client(), assistant).start(user_token=user_token(plain))["visitor_id"])
    assert ids[0] != ids[1]
