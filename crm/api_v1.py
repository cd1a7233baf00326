"""``/api/v1/contacts`` and ``/api/v1/tickets`` (SPEC §4): secret keys, the scopes each method needs.

Bodies are strict (unknown fields, such as ``workspace`` or ``source``, are a 400
naming them); ids are public ids; another workspace's id is a 404 like an unknown one.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.api import ApiV1View
from core.api_filters import choice_param, datetime_param
from core.errors import InvalidInput, NotFound
from core.openapi import LIST_PARAMETERS, page_of
from core.pagination import paginated
from core.phones import E164
from core.serializers import StrictSerializer
from crm.models import Contact, Ticket
from crm.payloads import contact_payload, ticket_payload
from crm.schema import (
    CONTACT_FILTERS,
    CONTACT_ID,
    CONTACT_INPUT_EXAMPLES,
    CONTACT_REQUEST_NOTE,
    DUPLICATE_CONTACT,
    TICKET_FILTERS,
    TICKET_ID,
    TICKET_INPUT_EXAMPLES,
    ContactSerializer,
    TicketSerializer,
)
from crm.selectors import contact_get, contact_list, ticket_get, ticket_list
from crm.services import contact_create, contact_delete, contact_update, ticket_create, ticket_update


class CrmView(ApiV1View):
    def paginate(self, queryset: Any, payload: Any) -> Response:
        return paginated(queryset, payload, request=self.request, view=self)


@extend_schema_serializer(examples=CONTACT_INPUT_EXAMPLES)
class ContactInput(StrictSerializer):
    """A contact's writable fields (``source`` is set by Parley)."""

    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=16, required=False, allow_blank=True, validators=[E164])
    name = serializers.CharField(max_length=Contact.MAX_NAME_LENGTH, required=False, allow_blank=True)
    opted_out = serializers.BooleanField(required=False)

    def validate_email(self, value: str) -> str:
        return value.strip().lower()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not self.partial and not (attrs.get("email") or attrs.get("phone")):
            raise serializers.ValidationError({"email": ["Give an email or a phone (or both)."]})
        return attrs


class ContactListApi(CrmView):
    required_scopes = {"GET": "contacts:read", "POST": "contacts:write"}

    @extend_schema(
        operation_id="list_contacts",
        summary="List contacts",
        description="The workspace's contacts, newest first.",
        parameters=[*LIST_PARAMETERS, *CONTACT_FILTERS],
        responses=page_of(ContactSerializer),
    )
    def get(self, request: Request) -> Response:
        contacts = contact_list(
            workspace_id=self.key.workspace_id,
            email=request.query_params.get("email", "").strip(),
            phone=request.query_params.get("phone", "").strip(),
            updated_since=datetime_param(request, "updated_since"),
        )
        return self.paginate(contacts, contact_payload)

    @extend_schema(
        operation_id="create_contact",
        summary="Create a contact",
        description=CONTACT_REQUEST_NOTE,
        request=ContactInput,
        responses={201: ContactSerializer, 409: DUPLICATE_CONTACT},
    )
    def post(self, request: Request) -> Response:
        data = ContactInput(data=request.data)
        data.is_valid(raise_exception=True)
        contact = contact_create(workspace_id=self.key.workspace_id, actor=self.actor, **data.validated_data)
        return Response(contact_payload(contact), status=status.HTTP_201_CREATED)


class ContactDetailApi(CrmView):
    required_scopes = {"GET": "contacts:read", "PATCH": "contacts:write", "DELETE": "contacts:write"}

    @extend_schema(
        operation_id="get_contact", summary="Get a contact", parameters=[CONTACT_ID], responses=ContactSerializer
    )
    def get(self, request: Request, contact_id: str) -> Response:
        return Response(contact_payload(contact_get(workspace_id=self.key.workspace_id, public_id=contact_id)))

    @extend_schema(
        operation_id="update_contact",
        summary="Update a contact",
        description='Changes the fields given; `""` clears `email`, `phone` or `name`.',
        parameters=[CONTACT_ID],
        request=ContactInput,
        responses={200: ContactSerializer, 409: DUPLICATE_CONTACT},
    )
    def patch(self, request: Request, contact_id: str) -> Response:
        contact = contact_get(workspace_id=self.key.workspace_id, public_id=contact_id)
        data = ContactInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        contact = contact_update(contact=contact, actor=self.actor, **data.validated_data)
        return Response(contact_payload(contact))

    @extend_schema(
        operation_id="delete_contact",
        summary="Delete a contact",
        parameters=[CONTACT_ID],
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request: Request, contact_id: str) -> Response:
        contact_delete(contact=contact_get(workspace_id=self.key.workspace_id, public_id=contact_id), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_serializer(examples=TICKET_INPUT_EXAMPLES)
class TicketInput(StrictSerializer):
    """A ticket's writable fields."""

    subject = serializers.CharField(max_length=Ticket.MAX_SUBJECT_LENGTH)
    body = serializers.CharField(max_length=Ticket.MAX_BODY_LENGTH, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    contact = serializers.CharField(max_length=32, required=False, allow_null=True)


class TicketListApi(CrmView):
    required_scopes = {"GET": "tickets:read", "POST": "tickets:write"}

    @extend_schema(
        operation_id="list_tickets",
        summary="List tickets",
        description="The workspace's tickets, newest first.",
        parameters=[*LIST_PARAMETERS, *TICKET_FILTERS],
        responses=page_of(TicketSerializer),
    )
    def get(self, request: Request) -> Response:
        tickets = ticket_list(
            workspace_id=self.key.workspace_id,
            status=choice_param(request, "status", Ticket.Status.values),
            updated_since=datetime_param(request, "updated_since"),
        )
        return self.paginate(tickets, ticket_payload)

    @extend_schema(
        operation_id="create_ticket",
        summary="Create a ticket",
        description="`contact` is a contact id of this workspace (a 400 naming it otherwise).",
        request=TicketInput,
        responses={201: TicketSerializer},
    )
    def post(self, request: Request) -> Response:
        data = TicketInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = _with_contact(self.key.workspace_id, dict(data.validated_data))
        ticket = ticket_create(workspace_id=self.key.workspace_id, actor=self.actor, **fields)
        return Response(ticket_payload(ticket), status=status.HTTP_201_CREATED)


class TicketDetailApi(CrmView):
    required_scopes = {"GET": "tickets:read", "PATCH": "tickets:write"}

    @extend_schema(
        operation_id="get_ticket", summary="Get a ticket", parameters=[TICKET_ID], responses=TicketSerializer
    )
    def get(self, request: Request, ticket_id: str) -> Response:
        return Response(ticket_payload(ticket_get(workspace_id=self.key.workspace_id, public_id=ticket_id)))

    @extend_schema(
        operation_id="update_ticket",
        summary="Update a ticket",
        description='Changes the fields given; `"contact": null` unlinks the contact.',
        parameters=[TICKET_ID],
        request=TicketInput,
        responses={200: TicketSerializer},
    )
    def patch(self, request: Request, ticket_id: str) -> Response:
        ticket = ticket_get(workspace_id=self.key.workspace_id, public_id=ticket_id)
        data = TicketInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = _with_contact(self.key.workspace_id, dict(data.validated_data))
        return Response(ticket_payload(ticket_update(ticket=ticket, actor=self.actor, **fields)))


def _with_contact(workspace_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """``contact`` as given (a public id) → the contact of this workspace, or a 400 naming it."""
    if "contact" in fields and fields["contact"] is not None:
        try:
            fields["contact"] = contact_get(workspace_id=workspace_id, public_id=fields["contact"])
        except NotFound:
            raise InvalidInput(
                {"contact": ["No such contact in this workspace: use an id from GET /api/v1/contacts."]}
            ) from None
    return fields
