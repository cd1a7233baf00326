"""Who may see, use, change and share an assistant, and read or write its chats (SPEC §1).

The sibling of ``accounts/permissions.py`` for this app: roles come from there (only
active memberships count), visibility and grants are added here. Everything the
in-app API and the admin decide about assistants and chats is answered below.

| visibility | who sees it and its chats' existence |
|---|---|
| public | every active member, guests included |
| workspace | active owners, admins and members |
| private | its creator, admins and owners, and users granted access |
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Role, User, Workspace
from accounts.permissions import Action, role_allows, role_of
from assistants.models import Assistant, Conversation

_STAFF_ROLES = {Role.OWNER, Role.ADMIN}
_MEMBER_ROLES = {Role.OWNER, Role.ADMIN, Role.MEMBER}


def _visibility_q(role: Role, user: User) -> Q:
    """The assistants of one workspace that ``role`` (held by ``user``) may see."""
    if role in _STAFF_ROLES:
        return Q()
    visible = Q(visibility=Assistant.Visibility.PUBLIC)
    if role in _MEMBER_ROLES:
        visible |= Q(visibility=Assistant.Visibility.WORKSPACE)
    private = Q(visibility=Assistant.Visibility.PRIVATE)
    return visible | (private & (Q(created_by=user) | Q(grants__user=user)))


def visible_assistants(user: User, workspace: Workspace) -> QuerySet[Assistant]:
    """Exactly the workspace's assistants the visibility table lets ``user`` see."""
    role = role_of(user, workspace)
    if role is None:
        return Assistant.objects.none()
    return Assistant.objects.filter(workspace=workspace).filter(_visibility_q(role, user)).distinct()


def may_see(user: User, assistant: Assistant) -> bool:
    return visible_assistants(user, assistant.workspace).filter(pk=assistant.pk).exists()


def may_use(user: User, assistant: Assistant) -> bool:
    """Chat with it: see it, and hold a role that uses assistants (guests only read)."""
    return role_allows(role_of(user, assistant.workspace), Action.USE_ASSISTANTS) and may_see(user, assistant)


def may_manage(user: User, assistant: Assistant) -> bool:
    """Change or delete it, and make its identity secret: admins and owners."""
    return role_allows(role_of(user, assistant.workspace), Action.MANAGE_ASSISTANTS)


def may_manage_grants(user: User, assistant: Assistant) -> bool:
    """Admins and owners; and the creator of a private assistant, while still a member."""
    if may_manage(user, assistant):
        return True
    return (
        assistant.visibility == Assistant.Visibility.PRIVATE
        and assistant.created_by_id == user.pk
        and role_of(user, assistant.workspace) is not None
    )


def may_create_assistants(user: User, workspace: Workspace) -> bool:
    return role_allows(role_of(user, workspace), Action.MANAGE_ASSISTANTS)


def visible_chats(user: User, workspace: Workspace) -> QuerySet[Conversation]:
    """Admins and owners read every chat; members their own; guests those of assistants guests see."""
    role = role_of(user, workspace)
    if role is None:
        return Conversation.objects.none()
    chats = Conversation.objects.filter(workspace=workspace, assistant__in=visible_assistants(user, workspace))
    if role_allows(role, Action.READ_ALL_CHATS) or role == Role.GUEST:
        return chats
    return chats.filter(user=user)


def may_read_chat(user: User, conversation: Conversation) -> bool:
    return visible_chats(user, conversation.workspace).filter(pk=conversation.pk).exists()


def may_post_in_chat(user: User, conversation: Conversation) -> bool:
    """Only the member whose app chat it is, while they may still use its assistant."""
    return (
        conversation.channel == Conversation.Channel.APP
        and conversation.user_id == user.pk
        and may_use(user, conversation.assistant)
    )


def may_change_in_admin(user: object) -> bool:
    """The admin console: superusers add, change and delete assistants and chats there.

    Support staff only view them (their group holds this app's ``view_*``, SPEC §8);
    workspace owners and admins change assistants in the app, by the rules above.
    """
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))
