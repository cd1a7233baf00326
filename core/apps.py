from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Imported for what they register: the deploy checks, and the StrictSerializer OpenAPI extension.
        from core import checks, openapi  # noqa: F401
