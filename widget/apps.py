from django.apps import AppConfig


class WidgetConfig(AppConfig):
    """Public widget endpoints (SPEC §5). Built by a later issue."""

    name = "widget"
