"""Posting Twilio's webhooks as Twilio does: a recorded payload from ``fixtures/``, signed.

Each fixture is the raw ``application/x-www-form-urlencoded`` body of a real Twilio
request, every field Twilio sends, in Twilio's order (phone numbers and SIDs are
made up). ``post_fixture`` is the one way tests send them: it applies the test's
changes, signs the result with twilio's own ``RequestValidator`` over the URL Twilio
would have called, and posts it with ``X-Twilio-Signature``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

FIXTURES = Path(__file__).parent / "fixtures"
FORM = "application/x-www-form-urlencoded"

# The values in the fixtures: the assistants of these tests use them.
ACCOUNT_SID = "AC5e1f0a7c3b9d24e6f8a0b1c2d3e4f5a6"
AUTH_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SMS_NUMBER = "+14155550100"
TEXTER = "+14155550199"
MESSAGING_SERVICE_SID = "MG0b7f3a9c1d5e2f4a6b8c0d2e4f6a8b0c"
POOL_NUMBER = "+12125550142"
POOL_TEXTER = "+12125550177"


def fixture(name: str) -> dict[str, str]:
    """The fields of ``fixtures/<name>.txt``, in order."""
    return dict(parse_qsl((FIXTURES / f"{name}.txt").read_text().strip(), keep_blank_values=True))


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_signed(
    client: Any,
    path: str,
    params: dict[str, str],
    *,
    token: str = AUTH_TOKEN,
    signed_url: str | None = None,
    signature: str | None = None,
    body: str | None = None,
    **headers: Any,
) -> Any:
    """POST ``params`` to ``path``, signed over ``signed_url`` (default ``http://testserver`` + path).

    ``signature`` replaces the computed one (``""``: no header); ``body`` replaces what is
    sent after signing (a tampered body).
    """
    if signature is None:
        signature = sign(signed_url or f"http://testserver{path}", params, token)
    if signature:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post(path, body if body is not None else urlencode(params), content_type=FORM, **headers)


def post_fixture(client: Any, name: str, assistant: Any, *, endpoint: str = "webhook", **kwargs: Any) -> Any:
    """Post ``fixtures/<name>.txt`` to the assistant's ``endpoint`` (``webhook`` or ``status``), signed.

    Keyword arguments named like Twilio's fields (``Body``, ``MessageSid``, ``From``…)
    change the payload (``None`` drops the field; a new ``MessageSid`` is also the
    ``SmsSid``/``SmsMessageSid``, as Twilio sends them); the others (``HTTP_…`` headers too) go to
    ``post_signed``.
    """
    params = fixture(name)
    for field in [k for k in kwargs if k[:1].isupper() and not k.startswith("HTTP_")]:
        value = kwargs.pop(field)
        aliases = ("MessageSid", "SmsSid", "SmsMessageSid") if field == "MessageSid" else (field,)
        for alias in aliases:
            if value is None:
                params.pop(alias, None)
            elif alias == field or alias in params:
                params[alias] = value
    path = kwargs.pop("path", None) or f"/api/sms/{endpoint}/{assistant.public_id}"
    return post_signed(client, path, params, **kwargs)
