"""The in-app API (session + CSRF): ``/api/me``, workspace switching, invitations."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actors import Actor
from accounts.models import Membership, Role, User, Workspace
from accounts.permissions import DENIED_TEXT, Action, role_allows
from accounts.selectors import SESSION_WORKSPACE_KEY, current_membership, user_memberships
from accounts.services import membership_invite
from core.errors import Forbidden


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


class MemberInviteApi(APIView):
    """Invite an email into the current workspace (owners and admins)."""

    schema = None

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        role = serializers.ChoiceField(choices=[Role.ADMIN, Role.MEMBER, Role.GUEST, Role.OWNER], default=Role.MEMBER)

    def post(self, request: Request) -> Response:
        membership = current_membership(request)
        if membership is None or not role_allows(membership.role, Action.MANAGE_MEMBERS):
            raise Forbidden(DENIED_TEXT[Action.MANAGE_MEMBERS])
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace: Workspace = membership.workspace
        invited = membership_invite(workspace=workspace, actor=Actor.for_request(request), **data.validated_data)
        return Response(
            {"id": invited.pk, "email": invited.invited_email, "role": invited.role, "status": invited.status},
            status=201,
        )
