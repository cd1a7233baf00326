from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import openapi  # noqa: F401  (registers the StrictSerializer OpenAPI extension)
