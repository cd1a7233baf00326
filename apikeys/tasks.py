"""The worker's key care (django-tasks; ``manage.py db_worker`` with django-tasks-db).

``key_care`` runs every ``KEY_CARE_INTERVAL``: the expiry reminders and the weekly
stale-keys digest (``apikeys.reminders``; each e-mail is claimed by a unique row, so
several worker hosts, a restart or the cron command beside it send nothing twice), and
the request log's retention (``apikeys.usage.request_log_prune``).

``request_log_care`` runs every ``REQUEST_LOG_CARE_INTERVAL``: it makes sure the worker
process drains the request log's Redis stream about once a second on a thread of its own
(``apikeys.usage.drainer``: the first run in a process starts it, so the worker, not the
web processes, does the storing), drains once itself, and mails the new-network alerts that
are due (``apikeys.reminders.key_network_alerts_send``).

Like the webhooks sweep both keep themselves scheduled: each run enqueues the next, and
``migrate`` and every webhooks sweep make sure one is queued (a run still "running"
long after it started belonged to a killed worker).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task
from django_tasks.base import Task, TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from apikeys import usage
from apikeys.reminders import key_care_run, key_network_alerts_send

KEY_CARE_INTERVAL = timedelta(hours=1)
KEY_CARE_DEAD_AFTER = timedelta(minutes=30)
REQUEST_LOG_CARE_INTERVAL = timedelta(minutes=1)
REQUEST_LOG_CARE_DEAD_AFTER = timedelta(minutes=10)


@task()
def key_care() -> dict[str, int]:
    try:
        return {**key_care_run(), **usage.request_log_prune()}
    finally:
        key_care_ensure_scheduled(from_task=True)


@task()
def request_log_care() -> dict[str, int]:
    try:
        usage.drainer.ensure_started()
        return {"drained": usage.drain(), "network_alerts": key_network_alerts_send()}
    finally:
        request_log_care_ensure_scheduled(from_task=True)


def _ensure_scheduled(task_: Task, interval: timedelta, dead_after: timedelta, *, from_task: bool) -> bool:
    """Queue the next run unless one is queued (or running, not for too long); only with django-tasks-db."""
    backend = task_.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return False
    now = timezone.now()
    runs = DBTaskResult.objects.filter(task_path=task_.module_path, backend_name=backend.alias)
    if runs.filter(status=TaskResultStatus.READY).exists():
        return False
    if not from_task and runs.filter(status=TaskResultStatus.RUNNING, started_at__gte=now - dead_after).exists():
        return False
    task_.using(run_after=now + (interval if from_task else timedelta(0))).enqueue()
    return True


def key_care_ensure_scheduled(*, from_task: bool = False) -> bool:
    return _ensure_scheduled(key_care, KEY_CARE_INTERVAL, KEY_CARE_DEAD_AFTER, from_task=from_task)


def request_log_care_ensure_scheduled(*, from_task: bool = False) -> bool:
    return _ensure_scheduled(
        request_log_care, REQUEST_LOG_CARE_INTERVAL, REQUEST_LOG_CARE_DEAD_AFTER, from_task=from_task
    )
