"""The TwiML answers of the SMS webhooks, built with twilio's ``MessagingResponse`` (it escapes the text)."""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse  # type: ignore[import-untyped]  # twilio ships no types

CONTENT_TYPE = "text/xml"


def twiml(reply: str | None) -> str:
    """``<Response><Message>reply</Message></Response>``, or an empty ``<Response />`` (nothing to send)."""
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return str(response.to_xml())
