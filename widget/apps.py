from django.apps import AppConfig


class WidgetConfig(AppConfig):
    """The chat widget's public endpoints, its script and demo page (SPEC §5)."""

    name = "widget"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled
        from django.db.models.signals import post_delete, post_save

        from accounts.models import Workspace
        from assistants.models import Assistant
        from widget.cors import widget_cors_allowed
        from widget.receivers import assistant_changed, workspace_changed

        check_request_enabled.connect(widget_cors_allowed, dispatch_uid="widget-cors")
        post_save.connect(assistant_changed, sender=Assistant, dispatch_uid="widget-assistant-saved")
        post_delete.connect(assistant_changed, sender=Assistant, dispatch_uid="widget-assistant-deleted")
        post_save.connect(workspace_changed, sender=Workspace, dispatch_uid="widget-workspace-saved")
