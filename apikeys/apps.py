from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from apikeys import receivers, schema  # noqa: F401  (signal receivers; OpenAPI extension)
        from apikeys.selectors import replay_invalidations
        from core.dbhealth import database_health

        database_health.on_tick(replay_invalidations)
