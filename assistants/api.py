"""The in-app API for assistants and chats (session + CSRF; SPEC §1).

Views parse input with strict serializers (unknown fields are a 400), call one
service or selector, and answer the output serializer's data. Ids are public ids
(``ast_…``, ``conv_…``, ``msg_…``). What a requester may not see is a 404.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actors import Actor
from accounts.api import signed_in
from accounts.selectors import current_membership
from apikeys.services import ROLL_GRACE_CHOICES
from assistants import permissions
from assistants.models import TWILIO_ACCOUNT_SID, TWILIO_SERVICE_SID, Assistant, FaqEntry, Message
from assistants.selectors import (
    assistant_get,
    assistant_list,
    chat_get,
    chat_list,
    chat_messages,
    identity_secret_previous_until,
)
from assistants.services import (
    IDENTITY_SECRET_MANAGERS_ONLY,
    assistant_create,
    assistant_delete,
    assistant_grant_add,
    assistant_grant_remove,
    assistant_identity_secret_rotate,
    assistant_update,
    chat_post_message,
    chat_start,
)
from assistants.sms_out import sms_status_callback_url, sms_webhook_url
from core.api_filters import refuse_null_characters
from core.errors import Forbidden
from core.origins import MAX_ORIGINS, normalize_origin
from core.pagination import paginated
from core.phones import E164
from core.serializers import StrictSerializer

# --- input


class FaqInput(StrictSerializer):
    question = serializers.CharField(max_length=FaqEntry.MAX_QUESTION_LENGTH)
    answer = serializers.CharField(max_length=FaqEntry.MAX_ANSWER_LENGTH)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A PATCH is partial, and DRF carries that into nested entries: an entry is still whole.
        missing = [name for name in ("question", "answer") if name not in attrs]
        if missing:
            raise serializers.ValidationError({name: ["This field is required."] for name in missing})
        return attrs


class ThemeInput(StrictSerializer):
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", error_messages={"invalid": "A colour such as #4f46e5."})


def _origins(values: list[str]) -> list[str]:
    if len(values) > MAX_ORIGINS:
        raise serializers.ValidationError(f"At most {MAX_ORIGINS} origins.")
    try:
        return sorted({normalize_origin(value) for value in values})
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from exc


class AssistantInput(StrictSerializer):
    """Every field an owner or admin may set; only ``name`` is required to create one.

    ``twilio_auth_token`` is write-only: never returned; ``""`` clears it.
    """

    name = serializers.CharField(max_length=Assistant.MAX_NAME_LENGTH)
    visibility = serializers.ChoiceField(choices=Assistant.Visibility.values, required=False)
    widget_enabled = serializers.BooleanField(required=False)
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300), max_length=MAX_ORIGINS, required=False
    )
    greeting = serializers.CharField(max_length=Assistant.MAX_TEXT_LENGTH, allow_blank=True, required=False)
    theme = ThemeInput(required=False)
    lead_capture = serializers.BooleanField(required=False)
    identity_verification = serializers.ChoiceField(choices=Assistant.IdentityVerification.values, required=False)
    faq = FaqInput(many=True, max_length=Assistant.MAX_FAQ_ENTRIES, required=False)  # type: ignore[call-arg]  # DRF 3.14+ takes max_length with many=True; the stubs lag
    help_text = serializers.CharField(max_length=Assistant.MAX_TEXT_LENGTH, allow_blank=True, required=False)  # type: ignore[assignment]  # named like Field.help_text; DRF's metaclass takes declared fields off the class
    sms_number = serializers.CharField(max_length=16, allow_blank=True, required=False, validators=[E164])
    twilio_messaging_service_sid = serializers.CharField(
        max_length=34, allow_blank=True, required=False, validators=[TWILIO_SERVICE_SID]
    )
    twilio_account_sid = serializers.CharField(
        max_length=34, allow_blank=True, required=False, validators=[TWILIO_ACCOUNT_SID]
    )
    twilio_auth_token = serializers.CharField(max_length=128, allow_blank=True, required=False, write_only=True)

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        return _origins(value)


# --- output


def _person(user: Any) -> dict[str, Any] | None:
    return {"id": user.pk, "email": user.email, "name": user.name} if user else None


def assistant_data(assistant: Assistant, *, full: bool, request: Request) -> dict[str, Any]:
    """What a requester sees; ``full`` (owners and admins) adds the settings and the URLs to give
    Twilio. Never a secret."""
    data: dict[str, Any] = {
        "id": assistant.public_id,
        "name": assistant.name,
        "visibility": assistant.visibility,
        "greeting": assistant.greeting,
        "help_text": assistant.help_text,
        "created_at": assistant.created_at,
    }
    if full:
        data.update(
            created_by=_person(assistant.created_by),
            updated_at=assistant.updated_at,
            widget_enabled=assistant.widget_enabled,
            allowed_origins=assistant.allowed_origins,
            theme=assistant.theme,
            lead_capture=assistant.lead_capture,
            identity_verification=assistant.identity_verification,
            has_identity_secret=assistant.has_identity_secret,
            faq=[{"question": e.question, "answer": e.answer} for e in assistant.faq_entries.all()],
            sms_number=assistant.sms_number,
            twilio_messaging_service_sid=assistant.twilio_messaging_service_sid,
            twilio_account_sid=assistant.twilio_account_sid,
            has_twilio_auth_token=assistant.has_twilio_auth_token,
            sms_webhook_url=sms_webhook_url(assistant, request),
            sms_status_callback_url=sms_status_callback_url(assistant, request),
        )
    return data


def message_data(message: Message) -> dict[str, Any]:
    return {
        "id": message.public_id,
        "role": message.role,
        "body": message.body,
        "author": _person(message.author),
        "delivery_status": message.delivery_status or None,
        "created_at": message.created_at,
    }


def chat_data(chat: Any) -> dict[str, Any]:
    return {
        "id": chat.public_id,
        "assistant": {"id": chat.assistant.public_id, "name": chat.assistant.name},
        "channel": chat.channel,
        "user": _person(chat.user),
        "title": chat.title,
        "created_at": chat.created_at,
        "updated_at": chat.updated_at,
    }


def _workspace(request: Request) -> Any:
    membership = current_membership(request)
    if membership is None:
        raise Forbidden("You are not an active member of any workspace.")
    return membership.workspace


class InAppView(APIView):
    """Session + CSRF (DRF's SessionAuthentication), JSON errors, not in the public schema."""

    schema = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        refuse_null_characters(request, kwargs.values())  # PostgreSQL refuses NUL in text: a 404/400, not a 500

    @property
    def actor(self) -> Actor:
        return Actor.for_request(self.request)


# --- assistants


class AssistantListApi(InAppView):
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        membership = current_membership(request)
        if membership is None:  # a member of no workspace (any more) sees nothing
            return Response({"results": []})
        workspace = membership.workspace
        full = permissions.may_create_assistants(user, workspace)
        return Response(
            {
                "results": [
                    assistant_data(a, full=full, request=request)
                    for a in assistant_list(user=user, workspace=workspace)
                ]
            }
        )

    def post(self, request: Request) -> Response:
        data = AssistantInput(data=request.data)
        data.is_valid(raise_exception=True)
        assistant = assistant_create(workspace=_workspace(request), actor=self.actor, **data.validated_data)
        return Response(assistant_data(assistant, full=True, request=request), status=status.HTTP_201_CREATED)


class AssistantDetailApi(InAppView):
    def get(self, request: Request, assistant_id: str) -> Response:
        user = signed_in(request)
        assistant = assistant_get(user=user, public_id=assistant_id)
        return Response(assistant_data(assistant, full=permissions.may_manage(user, assistant), request=request))

    def patch(self, request: Request, assistant_id: str) -> Response:
        assistant = assistant_get(user=signed_in(request), public_id=assistant_id)
        data = AssistantInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        assistant = assistant_update(assistant=assistant, actor=self.actor, **data.validated_data)
        return Response(assistant_data(assistant, full=True, request=request))

    def delete(self, request: Request, assistant_id: str) -> Response:
        assistant = assistant_get(user=signed_in(request), public_id=assistant_id)
        assistant_delete(assistant=assistant, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GrantInput(StrictSerializer):
    user_id = serializers.IntegerField(min_value=1)


class AssistantGrantsApi(InAppView):
    """Who was granted a private assistant: list, add (``{"user_id"}``), remove (``{"user_id"}``)."""

    def _assistant(self, request: Request, assistant_id: str) -> Assistant:
        assistant = assistant_get(user=signed_in(request), public_id=assistant_id)
        if not permissions.may_manage_grants(signed_in(request), assistant):
            raise Forbidden("Only workspace owners and admins, or the creator of a private assistant, manage access.")
        return assistant

    def _grants(self, assistant: Assistant) -> Response:
        grants = assistant.grants.select_related("user", "granted_by").order_by("user__email")
        return Response(
            {
                "results": [
                    {"user": _person(g.user), "granted_by": _person(g.granted_by), "created_at": g.created_at}
                    for g in grants
                ]
            }
        )

    def get(self, request: Request, assistant_id: str) -> Response:
        return self._grants(self._assistant(request, assistant_id))

    def post(self, request: Request, assistant_id: str) -> Response:
        assistant = self._assistant(request, assistant_id)
        data = GrantInput(data=request.data)
        data.is_valid(raise_exception=True)
        assistant_grant_add(assistant=assistant, actor=self.actor, user_id=data.validated_data["user_id"])
        response = self._grants(assistant)
        response.status_code = status.HTTP_201_CREATED
        return response

    def delete(self, request: Request, assistant_id: str) -> Response:
        assistant = self._assistant(request, assistant_id)
        data = GrantInput(data=request.data or request.query_params.dict())
        data.is_valid(raise_exception=True)
        assistant_grant_remove(assistant=assistant, actor=self.actor, user_id=data.validated_data["user_id"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdentitySecretInput(StrictSerializer):
    previous_valid_for = serializers.ChoiceField(choices=list(ROLL_GRACE_CHOICES), default="now")


class IdentitySecretApi(InAppView):
    """A new identity secret, shown once (``no-store``).

    Optional body ``{"previous_valid_for": "now" | "1h" | "24h" | "7d"}`` (default ``now``):
    how long the secret it replaces still verifies. The answer says until when
    (``previous_valid_until``, ``null`` when it stopped at once).
    """

    def post(self, request: Request, assistant_id: str) -> Response:
        assistant = assistant_get(user=signed_in(request), public_id=assistant_id)
        if not permissions.may_manage(signed_in(request), assistant):  # before the body is read
            raise Forbidden(IDENTITY_SECRET_MANAGERS_ONLY)
        data = IdentitySecretInput(data=request.data)
        data.is_valid(raise_exception=True)
        secret = assistant_identity_secret_rotate(
            assistant=assistant,
            actor=self.actor,
            previous_valid_for=ROLL_GRACE_CHOICES[data.validated_data["previous_valid_for"]],
        )
        until = identity_secret_previous_until(assistant.pk)
        response = Response({"identity_secret": secret, "previous_valid_until": until}, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


# --- chats


class ChatInput(StrictSerializer):
    assistant = serializers.CharField(max_length=32)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    message = serializers.CharField(max_length=Message.MAX_BODY_LENGTH, required=False)


class MessageInput(StrictSerializer):
    body = serializers.CharField(max_length=Message.MAX_BODY_LENGTH)


class ChatListApi(InAppView):
    def get(self, request: Request) -> Response:
        membership = current_membership(request)
        if membership is None:
            return Response({"next": None, "previous": None, "results": []})
        chats = chat_list(user=signed_in(request), workspace=membership.workspace)
        return paginated(chats, chat_data, request=request, view=self)

    def post(self, request: Request) -> Response:
        data = ChatInput(data=request.data)
        data.is_valid(raise_exception=True)
        assistant = assistant_get(user=signed_in(request), public_id=data.validated_data["assistant"])
        chat = chat_start(assistant=assistant, actor=self.actor, title=data.validated_data.get("title", ""))
        body: dict[str, Any] = chat_data(chat)
        if text := data.validated_data.get("message"):
            message, reply = chat_post_message(conversation=chat, actor=self.actor, body=text)
            body["messages"] = [message_data(message), message_data(reply)]
        return Response(body, status=status.HTTP_201_CREATED)


class ChatMessagesApi(InAppView):
    def get(self, request: Request, chat_id: str) -> Response:
        chat = chat_get(user=signed_in(request), public_id=chat_id)
        return paginated(chat_messages(chat).select_related("author"), message_data, request=request, view=self)

    def post(self, request: Request, chat_id: str) -> Response:
        chat = chat_get(user=signed_in(request), public_id=chat_id)
        data = MessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        message, reply = chat_post_message(conversation=chat, actor=self.actor, body=data.validated_data["body"])
        return Response(
            {"message": message_data(message), "reply": message_data(reply)}, status=status.HTTP_201_CREATED
        )
