"""The widget's public endpoints (SPEC §5): no API key; visitor tokens, origins and rate limits.

Views parse input, run the checks of ``widget.access`` in their documented order,
call one service and answer. They never read or set cookies: authentication is the
visitor token alone, and CORS (``widget/cors.py``) never allows credentials.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.utils.http import parse_etags, quote_etag
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assistants.models import Assistant, Message
from assistants.selectors import faq_entries, faq_search, identity_secrets
from core.api_filters import refuse_null_characters
from core.errors import IdentityVerificationFailed, InvalidInput
from core.net import client_ip
from core.phones import E164
from core.serializers import StrictSerializer
from core.timefmt import iso
from crm.models import Contact, Ticket
from widget import access, identity, limits
from widget.authentication import VisitorTokenAuthentication, WidgetAuthenticateHeader
from widget.models import Feedback, VisitorSession
from widget.payloads import (
    config_payload,
    feedback_payload,
    qna_payload,
    session_payload,
    widget_message_payload,
)
from widget.profiles import WidgetProfile
from widget.selectors import visitor_conversation, visitor_history
from widget.services import (
    visitor_chat,
    visitor_feedback_submit,
    visitor_lead_capture,
    visitor_session_start,
    visitor_session_touch,
    visitor_ticket_create,
)

NO_STORE = {"Cache-Control": "no-store"}
KEY_FIELD_LENGTH = 64


class WidgetView(APIView):
    """Base of the widget endpoints: no session cookie, no CSRF (nothing ambient to forge), JSON only."""

    authentication_classes = [WidgetAuthenticateHeader]
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        refuse_null_characters(request, kwargs.values())

    @property
    def ip(self) -> str:
        return client_ip(self.request)


class VisitorView(WidgetView):
    """An endpoint of a visitor's session: ``Authorization: Bearer wst_…``."""

    authentication_classes = [VisitorTokenAuthentication]
    endpoint = ""  # its name in WIDGET_RATE_LIMITS

    def perform_authentication(self, request: Request) -> None:
        """Deferred: an unknown assistant answers 404 before the token is looked at (``widget.access``)."""

    def visitor_session(self, assistant_id: str) -> VisitorSession:
        session = self.request.auth if isinstance(self.request.auth, VisitorSession) else None
        session = access.session_access(self.request, assistant_id, session, self.endpoint)
        visitor_session_touch(session)
        return session


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ConfigApi(WidgetView):
    """``GET /api/widget/{id}/config[?key=wpk_live_…]``: what the widget shows before anyone talks."""

    def get(self, request: Request, assistant_id: str) -> Response:
        profile = access.public_access(request, assistant_id, "config")
        key = request.query_params.get("key", "")
        if key:
            access.publishable_key_check(request, key, profile)
        return Response(config_payload(profile))


class QnasApi(WidgetView):
    """``GET /api/widget/{id}/qnas``: the assistant's FAQ entries, with an ``ETag`` (``If-None-Match`` → 304)."""

    def get(self, request: Request, assistant_id: str) -> Response:
        profile = access.public_access(request, assistant_id, "qnas")
        body = {"results": [qna_payload(entry) for entry in faq_entries(profile.assistant_pk)]}
        etag = quote_etag(hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32])
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        sent = parse_etags(request.headers.get("If-None-Match", ""))
        if "*" in sent or etag in [tag.removeprefix("W/") for tag in sent]:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(body, headers=headers)


MAX_QUERY_LENGTH = 200
SEARCH_RESULTS = 10


class SearchApi(WidgetView):
    """``GET /api/widget/{id}/search?q=…``: the FAQ entries that best match ``q``, with their scores."""

    def get(self, request: Request, assistant_id: str) -> Response:
        profile = access.public_access(request, assistant_id, "search")
        query = request.query_params.get("q", "").strip()
        if not 0 < len(query) <= MAX_QUERY_LENGTH:
            raise InvalidInput({"q": [f"Send q, the visitor's question: 1–{MAX_QUERY_LENGTH} characters."]})
        matches = faq_search(assistant_pk=profile.assistant_pk, query=query, limit=SEARCH_RESULTS)
        return Response({"results": [{**qna_payload(m.entry), "score": m.score} for m in matches]})


class SessionInput(StrictSerializer):
    publishable_key = serializers.CharField(required=False, max_length=KEY_FIELD_LENGTH)
    user_token = serializers.CharField(required=False, max_length=4096)
    user_id = serializers.CharField(required=False, max_length=identity.MAX_USER_ID_LENGTH)
    user_hash = serializers.CharField(required=False, max_length=128)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "user_token" in attrs and ("user_id" in attrs or "user_hash" in attrs):
            raise serializers.ValidationError({"user_token": ["Send either user_token, or user_id and user_hash."]})
        if ("user_id" in attrs) != ("user_hash" in attrs):
            missing = "user_hash" if "user_id" in attrs else "user_id"
            raise serializers.ValidationError({missing: ["user_id and user_hash go together."]})
        return attrs


REQUIRED_IDENTITY = (
    "This assistant requires identity verification: send a user_token, or user_id and user_hash, "
    "made by your server with the assistant's identity secret."
)


def _verified_user_id(profile: WidgetProfile, data: dict[str, Any]) -> str | None:
    """The verified user id, ``None`` for an anonymous visitor; 403 when verification fails."""
    mode = profile.identity_verification
    if mode == Assistant.IdentityVerification.OFF:
        return None  # identity fields are ignored until verification is turned on (README)
    if "user_token" not in data and "user_id" not in data:
        if mode == Assistant.IdentityVerification.REQUIRED:
            raise IdentityVerificationFailed(REQUIRED_IDENTITY)
        return None
    secrets = identity_secrets(profile.assistant_pk)
    if "user_token" in data:
        return identity.verify_user_token(data["user_token"], secrets)
    return identity.verify_user_hash(data["user_id"], data["user_hash"], secrets)


class SessionApi(WidgetView):
    """``POST /api/widget/{id}/session``: a visitor token (shown once) and the conversation it is bound to."""

    def post(self, request: Request, assistant_id: str) -> Response:
        profile = access.public_access(request, assistant_id, "session")
        data = _valid(SessionInput, request)
        plain_key = data.get("publishable_key")
        key = access.publishable_key_check(request, plain_key, profile) if plain_key else None
        user_id = _verified_user_id(profile, data)
        session, plain = visitor_session_start(
            profile=profile, ip=self.ip, external_id=user_id, api_key_id=key.id if key else None
        )
        return Response(session_payload(session, plain), status=status.HTTP_201_CREATED, headers=NO_STORE)


class ChatInput(StrictSerializer):
    message = serializers.CharField(max_length=Message.MAX_BODY_LENGTH)


class ChatApi(VisitorView):
    """``POST /api/widget/{id}/chat``: the visitor's message and the assistant's reply."""

    endpoint = "chat"

    def post(self, request: Request, assistant_id: str) -> Response:
        session = self.visitor_session(assistant_id)
        data = _valid(ChatInput, request)
        message, reply = visitor_chat(session=session, ip=self.ip, text=data["message"])
        return Response(
            {"message": widget_message_payload(message), "reply": widget_message_payload(reply)},
            status=status.HTTP_201_CREATED,
        )


class HistoryApi(VisitorView):
    """``GET /api/widget/{id}/history[?conversation_id=]``: the messages of the visitor's conversation."""

    endpoint = "history"

    def get(self, request: Request, assistant_id: str) -> Response:
        session = self.visitor_session(assistant_id)
        conversation = visitor_conversation(session, request.query_params.get("conversation_id", "")[:64])
        messages = visitor_history(conversation)
        return Response(
            {"conversation_id": conversation.public_id, "results": [widget_message_payload(m) for m in messages]}
        )


class LeadInput(StrictSerializer):
    email = serializers.EmailField(required=False, max_length=254)
    phone = serializers.CharField(required=False, max_length=16, validators=[E164])
    name = serializers.CharField(required=False, allow_blank=True, max_length=Contact.MAX_NAME_LENGTH)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError({"email": ["Send an email address or a phone number (E.164)."]})
        return attrs


class LeadApi(VisitorView):
    """``POST /api/widget/{id}/lead``: the visitor's contact details, as a contact of the workspace."""

    endpoint = "lead"

    def post(self, request: Request, assistant_id: str) -> Response:
        session = self.visitor_session(assistant_id)
        data = _valid(LeadInput, request)
        email, phone, name = data.get("email", ""), data.get("phone", ""), data.get("name", "")
        contact = visitor_lead_capture(session=session, ip=self.ip, email=email, phone=phone, name=name)
        # What the visitor typed, never what the contact held already (it may be someone else's data).
        shown = {"id": contact.public_id, "email": email or None, "phone": phone or None, "name": name}
        return Response({"contact": shown}, status=status.HTTP_201_CREATED)


class FeedbackInput(StrictSerializer):
    rating = serializers.ChoiceField(choices=Feedback.Rating.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=Feedback.MAX_COMMENT_LENGTH)
    message_id = serializers.CharField(required=False, max_length=32)


class FeedbackApi(VisitorView):
    """``POST /api/widget/{id}/feedback``: thumbs up or down on the conversation (or one reply)."""

    endpoint = "feedback"

    def post(self, request: Request, assistant_id: str) -> Response:
        session = self.visitor_session(assistant_id)
        data = _valid(FeedbackInput, request)
        feedback = visitor_feedback_submit(session=session, ip=self.ip, **data)
        shown = {key: value for key, value in feedback_payload(feedback).items() if key != "visitor_id"}
        return Response({"feedback": shown}, status=status.HTTP_201_CREATED)


class TicketInput(StrictSerializer):
    assistant_id = serializers.CharField(max_length=32)
    email = serializers.EmailField(max_length=254)
    subject = serializers.CharField(max_length=Ticket.MAX_SUBJECT_LENGTH)
    message = serializers.CharField(max_length=Message.MAX_BODY_LENGTH)


class TicketCreateApi(WidgetView):
    """``POST /api/widget/tickets/create``: a support ticket from a site's contact form (5 an hour per IP)."""

    def post(self, request: Request) -> Response:
        limits.count(request, "tickets", self.ip)  # before anything: every request counts, valid or not
        data = _valid(TicketInput, request)
        profile = access.assistant_profile(data["assistant_id"])
        access.check_assistant(request, profile)
        ticket = visitor_ticket_create(
            profile=profile, ip=self.ip, email=data["email"], subject=data["subject"], message=data["message"]
        )
        shown = {"id": ticket.public_id, "subject": ticket.subject, "status": ticket.status}
        return Response({"ticket": {**shown, "created_at": iso(ticket.created_at)}}, status=status.HTTP_201_CREATED)
