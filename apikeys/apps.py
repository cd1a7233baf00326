from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from apikeys import receivers  # noqa: F401  (workspace changes reach the key cache)
