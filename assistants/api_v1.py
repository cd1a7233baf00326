"""``/api/v1/assistants`` and ``/api/v1/conversations`` (SPEC §4): secret keys, workspace-wide."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.api import ApiV1View
from assistants.models import Assistant, Conversation, Message
from assistants.payloads import assistant_payload, completion_payload, conversation_payload, message_payload
from assistants.schema import (
    AGENT_REPLY_EXAMPLES,
    AGENT_REPLY_REFUSED,
    ASSISTANT_ID,
    COMPLETION_REQUEST_EXAMPLES,
    CONVERSATION_FILTERS,
    CONVERSATION_ID,
    AssistantSerializer,
    CompletionSerializer,
    ConversationSerializer,
    MessageSerializer,
)
from assistants.selectors import (
    api_conversation_get,
    chat_messages,
    conversation_get,
    conversation_list,
    workspace_assistant_get,
)
from assistants.services import assistant_completion, conversation_agent_reply
from assistants.sms_out import sms_status_callback_url
from core.api_filters import choice_param, datetime_param
from core.openapi import LIST_PARAMETERS, page_of
from core.pagination import paginated
from core.serializers import StrictSerializer


class _View(ApiV1View):
    def paginate(self, queryset: Any, payload: Any) -> Response:
        return paginated(queryset, payload, request=self.request, view=self)


class AssistantListApi(_View):
    required_scopes = {"GET": "assistants:read"}

    @extend_schema(
        operation_id="list_assistants",
        summary="List assistants",
        description="Every assistant of the workspace, whatever its visibility, newest first.",
        parameters=LIST_PARAMETERS,
        responses=page_of(AssistantSerializer),
    )
    def get(self, request: Request) -> Response:
        return self.paginate(Assistant.objects.filter(workspace_id=self.key.workspace_id), assistant_payload)


class ConversationListApi(_View):
    required_scopes = {"GET": "chat:read"}

    @extend_schema(
        operation_id="list_conversations",
        summary="List conversations",
        description="The workspace's conversations on every channel, most recently started first.",
        parameters=[*LIST_PARAMETERS, *CONVERSATION_FILTERS],
        responses=page_of(ConversationSerializer),
    )
    def get(self, request: Request) -> Response:
        conversations = conversation_list(
            workspace_id=self.key.workspace_id,
            assistant=request.query_params.get("assistant", "").strip(),
            channel=choice_param(request, "channel", Conversation.Channel.values),
            updated_since=datetime_param(request, "updated_since"),
        )
        return self.paginate(conversations, conversation_payload)


@extend_schema_serializer(examples=AGENT_REPLY_EXAMPLES)
class AgentReplyInput(StrictSerializer):
    """A human agent's reply."""

    body = serializers.CharField(max_length=Message.MAX_BODY_LENGTH)


class ConversationMessagesApi(_View):
    required_scopes = {"GET": "chat:read", "POST": "chat:write"}

    @extend_schema(
        operation_id="list_conversation_messages",
        summary="List a conversation's messages",
        description="Newest first.",
        parameters=[CONVERSATION_ID, *LIST_PARAMETERS],
        responses=page_of(MessageSerializer),
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        conversation = conversation_get(workspace_id=self.key.workspace_id, public_id=conversation_id)
        return self.paginate(chat_messages(conversation).select_related("conversation"), message_payload)

    @extend_schema(
        operation_id="create_agent_reply",
        summary="Reply as a human agent",
        description=(
            "Adds an agent message to the conversation; on an SMS conversation it is also texted to the "
            "contact (`delivery_status` follows Twilio's)."
        ),
        parameters=[CONVERSATION_ID],
        request=AgentReplyInput,
        responses={201: MessageSerializer, 409: AGENT_REPLY_REFUSED},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        conversation = conversation_get(workspace_id=self.key.workspace_id, public_id=conversation_id)
        data = AgentReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = conversation_agent_reply(
            conversation=conversation,
            actor=self.actor,
            body=data.validated_data["body"],
            status_callback=sms_status_callback_url(conversation.assistant, request),
        )
        return Response(message_payload(message), status=status.HTTP_201_CREATED)


class CompletionTurnInput(StrictSerializer):
    role = serializers.ChoiceField(choices=["user"], help_text="Only user turns: the assistant writes its own.")
    content = serializers.CharField(max_length=Message.MAX_BODY_LENGTH)


@extend_schema_serializer(examples=COMPLETION_REQUEST_EXAMPLES)
class CompletionInput(StrictSerializer):
    """New user turns, and optionally the conversation they continue."""

    MAX_TURNS = 20

    messages = CompletionTurnInput(many=True, min_length=1, max_length=MAX_TURNS)  # type: ignore[call-arg]  # DRF passes them to ListSerializer; the stubs lack them
    conversation_id = serializers.CharField(required=False, max_length=32)


class CompletionApi(_View):
    required_scopes = {"POST": "chat:write"}

    @extend_schema(
        operation_id="create_completion",
        summary="Ask an assistant",
        description=(
            "Stores the new user turns and answers with the assistant's reply, from the same responder as "
            "the widget. Without `conversation_id` a new conversation starts on channel `api`; with it, that "
            "conversation (one of this assistant's, started by an earlier completion) continues."
        ),
        parameters=[ASSISTANT_ID],
        request=CompletionInput,
        responses={200: CompletionSerializer},
    )
    def post(self, request: Request, assistant_id: str) -> Response:
        assistant = workspace_assistant_get(workspace_id=self.key.workspace_id, public_id=assistant_id)
        data = CompletionInput(data=request.data)
        data.is_valid(raise_exception=True)
        conversation_id = data.validated_data.get("conversation_id")
        conversation = api_conversation_get(assistant=assistant, public_id=conversation_id) if conversation_id else None
        conversation, reply = assistant_completion(
            assistant=assistant,
            actor=self.actor,
            turns=[turn["content"] for turn in data.validated_data["messages"]],
            conversation=conversation,
        )
        return Response(completion_payload(conversation, reply))
