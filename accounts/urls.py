from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("workspaces/switch/", views.workspace_switch, name="workspace-switch"),
    path("settings/audit-log/", views.AuditLogView.as_view(), name="audit-log"),
    path("settings/plan/", views.PlanView.as_view(), name="plan"),
]
