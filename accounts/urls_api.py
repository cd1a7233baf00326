from django.urls import path

from accounts import api

urlpatterns = [
    path("me", api.MeApi.as_view(), name="api-me"),
    path("workspaces/<int:workspace_id>/switch", api.WorkspaceSwitchApi.as_view(), name="api-workspace-switch"),
    path("members", api.MembersApi.as_view(), name="api-members"),
    path("members/invite", api.MemberInviteApi.as_view(), name="api-member-invite"),
    path("members/<int:membership_id>", api.MemberApi.as_view(), name="api-member"),
    path("workspace", api.WorkspaceApi.as_view(), name="api-workspace"),
    path("workspace/settings", api.WorkspaceSettingsApi.as_view(), name="api-workspace-settings"),
    path("workspace/billing", api.WorkspaceBillingApi.as_view(), name="api-workspace-billing"),
]
