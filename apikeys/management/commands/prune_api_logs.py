"""``manage.py prune_api_logs``: the request log's retention, for cron (the worker does it every hour too)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from apikeys.usage import request_log_prune


class Command(BaseCommand):
    help = (
        "Delete API request log rows and daily usage counts older than API_LOG_RETENTION_DAYS, "
        "and key networks not seen for 30 days."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = request_log_prune()
        self.stdout.write(
            f"Deleted {done['log_rows']} request log rows and {done['daily_rows']} daily usage rows older than "
            f"{settings.API_LOG_RETENTION_DAYS} days, and {done['networks']} networks not seen for 30 days."
        )
