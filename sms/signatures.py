"""Is this request really Twilio's, about this assistant? (SPEC §7)

Twilio signs every webhook with the account's auth token: an HMAC over the URL it
called and the POST parameters, in ``X-Twilio-Signature``. twilio's own
``RequestValidator`` checks it over the URL Twilio was given, ``core.net.public_url``:
``PUBLIC_BASE_URL`` when set, else the request's absolute URL as Django builds it
behind the configured proxies (``SECURE_PROXY_SSL_HEADER``, ``USE_X_FORWARDED_HOST``).
The validator accepts that URL with and without the scheme's default port (``:443``,
``:80``), as Twilio's libraries do, since Twilio signs either form.

A signature alone proves only "someone with this auth token": the parameters must
also name the assistant's account (``AccountSid``) and its number, or, for an assistant
that sends through a Messaging Service (a pool of numbers), that service
(``MessagingServiceSid``), whichever number of the pool was texted. Signatures and
tokens are never logged.
"""

from __future__ import annotations

import hmac

from django.http import HttpRequest
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]  # twilio ships no types

from assistants.models import Assistant
from core.crypto import InvalidToken, decrypt
from core.errors import InvalidSignature
from core.net import public_url

SIGNATURE_HEADER = "X-Twilio-Signature"
WRONG_SIGNATURE_HINT = (
    "Twilio signs with the assistant's auth token over the exact URL set in its console: "
    "check the token saved on the assistant and that the URL is the one Parley shows."
)
WRONG_ADDRESSEE_HINT = (
    "The request's AccountSid must be the assistant's Twilio account, and To its number "
    "(or MessagingServiceSid its Messaging Service)."
)


def _auth_token(assistant: Assistant) -> str:
    try:
        return decrypt(assistant.twilio_auth_token_encrypted)
    except InvalidToken:  # encrypted under a key no longer configured: nothing can verify
        return ""


def signed_by_twilio(request: HttpRequest, *, token: str) -> bool:
    """Whether ``X-Twilio-Signature`` is ``token``'s signature of this request's public URL and form."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not token or not signature:  # an empty token would sign for anyone
        return False
    validator = RequestValidator(token)
    return bool(validator.validate(public_url(request), request.POST, signature))


def verify_signature(request: HttpRequest, assistant: Assistant) -> None:
    """Raise ``InvalidSignature`` unless Twilio signed this request with ``assistant``'s auth token."""
    if not signed_by_twilio(request, token=_auth_token(assistant)):
        raise InvalidSignature(hint=WRONG_SIGNATURE_HINT)


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def verify_addressee(assistant: Assistant, *, account_sid: str, number: str, messaging_service_sid: str) -> None:
    """Raise ``InvalidSignature`` unless the request is about ``assistant``'s account and number or service.

    ``number`` is the assistant's side of the message: ``To`` of a text it received,
    ``From`` of one it sent (a status callback).
    """
    if assistant.twilio_messaging_service_sid:
        ours = _same(messaging_service_sid, assistant.twilio_messaging_service_sid)
    else:
        ours = _same(number, assistant.sms_number)
    if not (_same(account_sid, assistant.twilio_account_sid) and ours):
        raise InvalidSignature(hint=WRONG_ADDRESSEE_HINT)
