"""``manage.py send_key_reminders``: the expiry reminders and stale-keys digests that are due, for cron.

The worker does the same every hour (``apikeys.tasks.key_care``); running both, or this
command often, sends nothing twice.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apikeys.reminders import key_care_run


class Command(BaseCommand):
    help = "Send due API key expiry reminders and this week's stale-keys digests (each e-mail once)."

    def handle(self, *args: Any, **options: Any) -> None:
        done = key_care_run()
        self.stdout.write(f"Sent {done['reminders']} expiry reminders and {done['digests']} stale-keys digests.")
