from django.urls import path

from accounts import api

urlpatterns = [
    path("me", api.MeApi.as_view(), name="api-me"),
    path("workspaces/<int:workspace_id>/switch", api.WorkspaceSwitchApi.as_view(), name="api-workspace-switch"),
    path("members/invite", api.MemberInviteApi.as_view(), name="api-member-invite"),
]
