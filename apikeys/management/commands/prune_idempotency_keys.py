"""``manage.py prune_idempotency_keys``: forget ``Idempotency-Key`` answers older than 24 hours (run it daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apikeys.idempotency import idempotency_records_prune


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key answers older than 24 hours (a retry after that runs again)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Deleted {idempotency_records_prune()} idempotency records older than 24 hours.")
