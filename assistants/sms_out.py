"""Sending an SMS with twilio's own REST client (agents' replies on SMS conversations), and
the addresses Twilio calls back for an assistant.

``TWILIO_API_BASE_URL`` points the client at another host (a regional edge or a
proxy; the tests' local recorder): the request is still built, authenticated and
parsed by twilio's library, only the network endpoint changes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from twilio.base.exceptions import TwilioException  # type: ignore[import-untyped]  # twilio ships no types
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]  # likewise
from twilio.rest import Client  # type: ignore[import-untyped]  # likewise

from assistants.models import Assistant
from core.crypto import decrypt
from core.net import public_url

# The routes of the sms app (sms/urls_api.py), named here so this lower layer never imports it.
WEBHOOK_ROUTE, STATUS_ROUTE = "sms-webhook", "sms-status"


class _RedirectedHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=10)
        self.base = urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


def _client(assistant: Assistant) -> Client:
    token = decrypt(assistant.twilio_auth_token_encrypted)
    base = settings.TWILIO_API_BASE_URL
    http_client = _RedirectedHttpClient(base) if base else TwilioHttpClient(timeout=10)
    return Client(assistant.twilio_account_sid, token, http_client=http_client)


def send_sms(*, assistant: Assistant, to: str, body: str, status_callback: str) -> tuple[str, str, str]:
    """Send; returns ``(message sid, status, error code)`` — a refusal is a status, never an exception."""
    params: dict[str, Any] = {"to": to, "body": body, "status_callback": status_callback}
    if assistant.twilio_messaging_service_sid:
        params["messaging_service_sid"] = assistant.twilio_messaging_service_sid
    else:
        params["from_"] = assistant.sms_number
    try:
        message = _client(assistant).messages.create(**params)
    except TwilioException as exc:
        return "", "failed", str(getattr(exc, "code", "") or "")
    return message.sid or "", message.status or "queued", str(message.error_code or "")


def sms_webhook_url(assistant: Assistant, request: HttpRequest) -> str:
    """Where Twilio posts the texts sent to ``assistant`` (its console's "A message comes in")."""
    return public_url(request, reverse(WEBHOOK_ROUTE, args=[assistant.public_id]))


def sms_status_callback_url(assistant: Assistant, request: HttpRequest) -> str:
    """Where Twilio reports the delivery of what ``assistant`` sends (given with every message sent)."""
    return public_url(request, reverse(STATUS_ROUTE, args=[assistant.public_id]))
