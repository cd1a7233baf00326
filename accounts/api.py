"""The in-app API (session + CSRF): ``/api/me``, workspace switching, members, the workspace itself.

Each view asks ``accounts.permissions`` (through ``current_for``) whether the current
workspace's role allows its action before it looks anything up, so a refused role
learns nothing about ids; the services check again and enforce the rules on data.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actors import Actor
from accounts.models import PAID_PLANS, Membership, Role, User, Workspace
from accounts.permissions import DENIED_TEXT, NOT_A_MEMBER_HINT, NOT_A_MEMBER_TEXT, Action, denied_hint, role_allows
from accounts.selectors import (
    SESSION_WORKSPACE_KEY,
    current_membership,
    user_memberships,
    workspace_member,
    workspace_members,
)
from accounts.services import (
    SETTABLE_STATUSES,
    MemberNotFound,
    member_label,
    membership_invite,
    membership_remove,
    membership_update,
    workspace_delete,
    workspace_settings_update,
)
from core.errors import Forbidden
from core.serializers import StrictSerializer


class MeApi(APIView):
    """The signed-in user, their workspaces and the current one."""

    schema = None  # the in-app API is not part of the public OpenAPI schema

    def get(self, request: Request) -> Response:
        user = signed_in(request)
        current = current_membership(request)
        return Response(
            {
                "user": {"id": user.pk, "email": user.email, "name": user.name},
                "current_workspace": _workspace_data(current) if current else None,
                "workspaces": [_workspace_data(m) for m in user_memberships(user)],
            }
        )


def signed_in(request: Request) -> User:
    """The session's user; DRF's ``IsAuthenticated`` (the default permission) let only them in."""
    if not isinstance(request.user, User):
        raise NotAuthenticated
    return request.user


def _workspace_data(membership: Membership) -> dict[str, object]:
    workspace = membership.workspace
    return {
        "id": workspace.pk,
        "name": workspace.name,
        "slug": workspace.slug,
        "plan": workspace.plan,
        "status": workspace.status,
        "role": membership.role,
    }


class WorkspaceSwitchApi(APIView):
    """Make a workspace the session's current one. Not a member → 404."""

    schema = None

    def post(self, request: Request, workspace_id: int) -> Response:
        membership = get_object_or_404(user_memberships(signed_in(request)), workspace_id=workspace_id)
        request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
        return Response({"current_workspace": _workspace_data(membership)})


def current_for(request: Request, action: Action) -> Membership:
    """The current workspace's membership, if its role allows ``action``; else 403.

    Read from the database on every request: a role or status changed a moment ago counts.
    """
    membership = current_membership(request)
    if membership is None:
        raise Forbidden(NOT_A_MEMBER_TEXT, hint=NOT_A_MEMBER_HINT)
    if not role_allows(membership.role, action):
        raise Forbidden(DENIED_TEXT[action], hint=denied_hint(action))
    return membership


def _user_data(user: User | None) -> dict[str, object] | None:
    return {"id": user.pk, "email": user.email, "name": user.name} if user else None


def _member_data(membership: Membership) -> dict[str, object]:
    return {
        "id": membership.pk,
        "user": _user_data(membership.user),
        "email": member_label(membership),
        "role": membership.role,
        "status": membership.status,
        "invited_by": _user_data(membership.invited_by),
        "created_at": membership.created_at,
    }


class MemberInviteApi(APIView):
    """Invite an email into the current workspace (owners and admins)."""

    schema = None

    class InputSerializer(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        role = serializers.ChoiceField(choices=[Role.ADMIN, Role.MEMBER, Role.GUEST, Role.OWNER], default=Role.MEMBER)

    def post(self, request: Request) -> Response:
        membership = current_for(request, Action.MANAGE_MEMBERS)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace: Workspace = membership.workspace
        invited = membership_invite(workspace=workspace, actor=Actor.for_request(request), **data.validated_data)
        return Response(
            {"id": invited.pk, "email": invited.invited_email, "role": invited.role, "status": invited.status},
            status=201,
        )


class MembersApi(APIView):
    """The current workspace's memberships, active, invited and suspended: owners first, then by email."""

    schema = None

    def get(self, request: Request) -> Response:
        workspace = current_for(request, Action.VIEW_MEMBERS).workspace
        return Response({"results": [_member_data(m) for m in workspace_members(workspace=workspace)]})


class MemberApi(APIView):
    """Change a member's role or status (``PATCH``), or remove them (``DELETE``): owners and admins."""

    schema = None

    class InputSerializer(StrictSerializer):
        role = serializers.ChoiceField(choices=Role.choices, required=False)
        status = serializers.ChoiceField(choices=SETTABLE_STATUSES, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs:
                raise serializers.ValidationError("Send role, status or both.")
            return attrs

    def _target(self, request: Request, membership_id: int) -> Membership:
        workspace = current_for(request, Action.MANAGE_MEMBERS).workspace
        target = workspace_member(workspace=workspace, membership_id=membership_id)
        if target is None:
            raise MemberNotFound
        return target

    def patch(self, request: Request, membership_id: int) -> Response:
        target = self._target(request, membership_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = membership_update(membership=target, actor=Actor.for_request(request), **data.validated_data)
        return Response(_member_data(updated))

    def delete(self, request: Request, membership_id: int) -> Response:
        membership_remove(membership=self._target(request, membership_id), actor=Actor.for_request(request))
        return Response(status=204)


def _upgrade_text(workspace: Workspace) -> str:
    wanted = "to change this plan" if workspace.plan in PAID_PLANS else "to upgrade to Pro"
    return (
        f"Plans are changed by Parley support: {wanted}, contact {settings.SUPPORT_EMAIL} "
        f'from an owner\'s address, naming the workspace "{workspace.name}".'
    )


class WorkspaceBillingApi(APIView):
    """The current workspace's plan and how to upgrade it (owners)."""

    schema = None

    def get(self, request: Request) -> Response:
        workspace = current_for(request, Action.VIEW_BILLING).workspace
        return Response(
            {
                "workspace": {"id": workspace.pk, "name": workspace.name},
                "plan": workspace.plan,
                "paid": workspace.plan in PAID_PLANS,
                "status": workspace.status,
                "upgrade": _upgrade_text(workspace),
            }
        )


class WorkspaceApi(APIView):
    """Delete the current workspace and everything in it (owners), confirmed by its exact name."""

    schema = None

    class InputSerializer(StrictSerializer):
        # Optional here so that a missing name gets the service's message, which names the workspace.
        confirm = serializers.CharField(
            required=False, default="", allow_blank=True, allow_null=True, trim_whitespace=False
        )

    def delete(self, request: Request) -> Response:
        workspace = current_for(request, Action.DELETE_WORKSPACE).workspace
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace_delete(
            workspace=workspace, actor=Actor.for_request(request), confirm=data.validated_data["confirm"] or ""
        )
        request.session.pop(SESSION_WORKSPACE_KEY, None)
        return Response(status=204)


class WorkspaceSettingsApi(APIView):
    """The settings owners change themselves: ``{"stale_keys_digest"}`` (the weekly e-mail of unused API keys)."""

    schema = None

    class InputSerializer(StrictSerializer):
        stale_keys_digest = serializers.BooleanField(required=False)

    @staticmethod
    def _data(workspace: Workspace) -> dict[str, object]:
        return {"stale_keys_digest": workspace.stale_keys_digest}

    def get(self, request: Request) -> Response:
        return Response(self._data(current_for(request, Action.MANAGE_WORKSPACE).workspace))

    def patch(self, request: Request) -> Response:
        workspace = current_for(request, Action.MANAGE_WORKSPACE).workspace
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = workspace_settings_update(
            workspace=workspace, actor=Actor.for_request(request), **data.validated_data
        )
        return Response(self._data(workspace))
