"""``manage.py prune_widget_sessions``: forget visitor sessions whose tokens expired (run it daily, e.g. from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from widget.services import visitor_sessions_prune


class Command(BaseCommand):
    help = "Delete widget visitor sessions that expired (30 minutes idle, or 24 hours old). Conversations stay."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Deleted {visitor_sessions_prune()} expired visitor sessions.")
