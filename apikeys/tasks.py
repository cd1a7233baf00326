"""The worker's key care (django-tasks; ``manage.py db_worker`` with django-tasks-db).

``key_care`` runs every ``KEY_CARE_INTERVAL``: the expiry reminders and the weekly
stale-keys digest (``apikeys.reminders``; each e-mail is claimed by a unique row, so
several worker hosts, a restart or the cron command beside it send nothing twice).
Like the webhooks sweep it keeps itself scheduled: each run enqueues the next, and
``migrate`` and every webhooks sweep make sure one is queued (a run still "running"
long after it started belonged to a killed worker).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from apikeys.reminders import key_care_run

KEY_CARE_INTERVAL = timedelta(hours=1)
KEY_CARE_DEAD_AFTER = timedelta(minutes=30)


@task()
def key_care() -> dict[str, int]:
    try:
        return key_care_run()
    finally:
        key_care_ensure_scheduled(from_task=True)


def key_care_ensure_scheduled(*, from_task: bool = False) -> bool:
    """Queue the next run unless one is queued (or running, not for too long); only with django-tasks-db."""
    backend = key_care.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return False
    now = timezone.now()
    runs = DBTaskResult.objects.filter(task_path=key_care.module_path, backend_name=backend.alias)
    if runs.filter(status=TaskResultStatus.READY).exists():
        return False
    if (
        not from_task
        and runs.filter(status=TaskResultStatus.RUNNING, started_at__gte=now - KEY_CARE_DEAD_AFTER).exists()
    ):
        return False
    key_care.using(run_after=now + (KEY_CARE_INTERVAL if from_task else timedelta(0))).enqueue()
    return True
