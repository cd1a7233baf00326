"""Fixtures of the widget tests: a widget-enabled assistant with FAQ entries, and a visitor client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from apikeys.models import ApiKey
from assistants.models import Assistant
from tests import factories

SITE = "https://shop.example.com"
FAQ = (
    ("What are your opening hours?", "Monday to Friday, 9:00 to 17:00."),
    ("How do I get a refund?", "Reply to your order email within 30 days."),
)


@dataclass
class Visitor:
    """A browser on ``origin`` talking to one assistant's widget endpoints."""

    client: Client
    assistant: Assistant
    origin: str | None = SITE
    token: str = ""

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"Origin": self.origin} if self.origin else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return {**headers, **extra}

    def url(self, endpoint: str, assistant_id: str | None = None) -> str:
        return f"/api/widget/{assistant_id or self.assistant.public_id}/{endpoint}"

    def get(self, endpoint: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(self.url(endpoint), params or {}, headers=self.headers(**headers))

    def post(self, endpoint: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            self.url(endpoint),
            body if body is not None else {},
            content_type="application/json",
            headers=self.headers(**headers),
        )

    def start(self, **body: Any) -> dict[str, Any]:
        response = self.post("session", body)
        assert response.status_code == 201, response.content
        data = response.json()
        self.token = data["session_token"]
        return data


@pytest.fixture
def widget_assistant(workspace) -> Assistant:
    return factories.make_assistant(
        workspace,
        name="Help center",
        widget_enabled=True,
        allowed_origins=[SITE],
        greeting="Hi! Ask me anything.",
        theme={"color": "#0b7285"},
        lead_capture=True,
        faq=FAQ,
    )


@pytest.fixture
def visitor(widget_assistant) -> Visitor:
    return Visitor(client=Client(), assistant=widget_assistant)


@pytest.fixture
def publishable_key(workspace) -> tuple[ApiKey, str]:
    return factories.make_key(workspace, kind=ApiKey.Kind.PUBLISHABLE)
