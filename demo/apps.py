from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data: ``manage.py seed_demo``. Sits on top of every app it seeds."""

    name = "demo"
