"""What the worker runs (django-tasks; ``manage.py db_worker`` with django-tasks-db).

``deliver`` makes one attempt of a delivery and, if it must be retried, enqueues the
next one for when it is due. ``sweep`` runs every ``sweep_interval()`` and is what makes
deliveries at-least-once: it dispatches outbox events the on-commit receiver missed,
enqueues again the deliveries whose task was lost (a killed worker: the attempt's
lease ran out), removes subscriptions of keys that stopped working, and prunes old
events. The sweep keeps itself scheduled: each run enqueues the next, and every
delivery, every dispatched event and every ``migrate`` makes sure one is queued (a
sweep still "running" long after it started belonged to a killed worker).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from accounts.actors import Actor
from apikeys.tasks import key_care_ensure_scheduled, request_log_care_ensure_scheduled
from core.events import events_prune
from core.metrics import WEBHOOK_DELIVERIES
from webhooks import selectors, services
from webhooks.models import Delivery, HookSubscription

logger = logging.getLogger(__name__)


def sweep_interval() -> timedelta:
    """How often the sweep runs (``WEBHOOK_SWEEP_INTERVAL_SECONDS``, a minute)."""
    return timedelta(seconds=settings.WEBHOOK_SWEEP_INTERVAL_SECONDS)


def sweep_dead_after() -> timedelta:
    """A sweep "running" for longer than this was left by a killed worker
    (``WEBHOOK_SWEEP_DEAD_AFTER_SECONDS``, 10 minutes)."""
    return timedelta(seconds=settings.WEBHOOK_SWEEP_DEAD_AFTER_SECONDS)


@task()
def deliver(delivery_id: int) -> str:
    """One attempt of a delivery; a failure enqueues the next attempt for when it is due."""
    outcome = services.delivery_attempt(delivery_id=delivery_id)
    WEBHOOK_DELIVERIES.labels(outcome.status).inc()
    if outcome.retry_at is not None:
        deliver.using(run_after=outcome.retry_at).enqueue(delivery_id)
    sweep_ensure_scheduled()
    return outcome.status


def deliveries_enqueue(delivery_ids: Iterable[int]) -> None:
    for delivery_id in delivery_ids:
        deliver.enqueue(delivery_id)


def event_dispatch_and_enqueue(*, event_id: int) -> int:
    """Dispatch one outbox event; its deliveries' tasks are queued in the same transaction."""
    with transaction.atomic():
        pending = services.event_dispatch(event_id=event_id)
        deliveries_enqueue(pending)
    return len(pending)


def deliveries_retry_now(*, delivery_ids: Iterable[int], actor: Actor) -> int:
    """The admin's "Retry now": the service puts them back in line, their tasks are queued."""
    with transaction.atomic():
        ids = services.deliveries_retry(delivery_ids=delivery_ids, actor=actor)
        deliveries_enqueue(ids)
    return len(ids)


def event_replay_and_enqueue(*, hook: HookSubscription, event_id: str, actor: Actor) -> Delivery:
    """Re-send an event to a subscription (the API's replay, the admin's "Re-send"): a new delivery, queued now."""
    with transaction.atomic():
        delivery = services.event_replay(hook=hook, event_id=event_id, actor=actor)
        deliveries_enqueue([delivery.pk])
    return delivery


def sweep_once() -> dict[str, int]:
    """One pass of the sweep (the task's body; tests call it too)."""
    now = timezone.now()
    dispatched = 0
    for event_id in selectors.events_undispatched(before=now - services.dispatch_after()):
        try:
            event_dispatch_and_enqueue(event_id=event_id)
            dispatched += 1
        except Exception:  # one bad event must not hold up the others
            logger.exception("webhooks: dispatching event %s failed", event_id)
    with transaction.atomic():
        requeued = services.deliveries_requeue_stale(now=now)
        deliveries_enqueue(requeued)
    removed = services.hooks_remove_retired_keys()
    pruned = events_prune(older_than=services.EVENT_RETENTION)
    key_care_ensure_scheduled()  # the key care tasks' safety net (a killed worker lost their run)
    request_log_care_ensure_scheduled()
    return {"dispatched": dispatched, "requeued": len(requeued), "removed": removed, "pruned": pruned}


@task()
def sweep() -> dict[str, int]:
    try:
        return sweep_once()
    finally:
        sweep_ensure_scheduled(from_sweep=True)


def sweep_ensure_scheduled(*, from_sweep: bool = False) -> bool:
    """Queue the next sweep unless one is queued (or running, and not for too long already).

    Only with a backend that keeps deferred tasks (django-tasks-db); returns whether it queued one.
    """
    backend = sweep.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return False
    now = timezone.now()
    sweeps = DBTaskResult.objects.filter(task_path=sweep.module_path, backend_name=backend.alias)
    if sweeps.filter(status=TaskResultStatus.READY).exists():
        return False
    if (
        not from_sweep
        and sweeps.filter(status=TaskResultStatus.RUNNING, started_at__gte=now - sweep_dead_after()).exists()
    ):
        return False
    sweep.using(run_after=now + sweep_interval()).enqueue()
    return True
