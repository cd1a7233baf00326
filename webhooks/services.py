"""The only writers of webhook subscriptions and deliveries.

Subscriptions: ``hook_create`` (checks the target, returns the secret once),
``hook_secret_roll`` (a new secret, shown once; the old one signs too during the overlap),
``hook_delete``, and removal when the target answers 410 or the key that made it
stops working. Deliveries: ``event_dispatch`` turns one outbox event into pending
deliveries (one per matching live subscription), ``delivery_attempt`` makes one
attempt, ``deliveries_retry`` puts deliveries back in line (the admin's "Retry now"),
``deliveries_requeue_stale`` finds the ones whose task was lost, ``event_replay`` sends
an event again (a new delivery). Every delivery gets the subscription's next sequence
number when it is made (``webhook-sequence``); a streak of failed attempts (5 days, or
``WEBHOOK_DISABLE_AFTER_FAILURES`` in a row) disables the subscription and mails its
workspace's owners and admins (``hook_disable_failing``). Enqueueing the task
that runs an attempt is ``webhooks.tasks``' job: these functions return the ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor, ActorKind
from accounts.mail import workspace_managers_email
from accounts.models import Workspace
from accounts.services import audit_event_create
from apikeys.models import ApiKey
from core.crypto import InvalidToken, decrypt, encrypt
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.models import Event
from webhooks.events import EVENT_TYPES, event_body, unknown_type_message
from webhooks.models import Delivery, HookSubscription
from webhooks.signing import secret_generate, signed_headers
from webhooks.targets import TargetRefused, TargetUnreachable, target_check, target_post

logger = logging.getLogger(__name__)

# After the first attempt fails, the next ones come this long after the previous one:
# 7 attempts over about 17 hours, then the delivery is failed.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=12),
)
MAX_ATTEMPTS = 1 + len(RETRY_SCHEDULE)


def attempt_lease() -> timedelta:
    """How long an attempt in flight holds its delivery (``WEBHOOK_ATTEMPT_LEASE_SECONDS``, 2 minutes:
    far more than the 10 s an attempt may take)."""
    return timedelta(seconds=settings.WEBHOOK_ATTEMPT_LEASE_SECONDS)


def requeue_after() -> timedelta:
    """A delivery due this long ago and not picked up had its task lost (a killed worker, a
    missed enqueue): the sweep enqueues it again (``WEBHOOK_REQUEUE_AFTER_SECONDS``, 5 minutes)."""
    return timedelta(seconds=settings.WEBHOOK_REQUEUE_AFTER_SECONDS)


def dispatch_after() -> timedelta:
    """The sweep leaves events younger than this to the on-commit receiver
    (``WEBHOOK_DISPATCH_AFTER_SECONDS``, 30 seconds)."""
    return timedelta(seconds=settings.WEBHOOK_DISPATCH_AFTER_SECONDS)


# Events are kept (GET /api/v1/events, delivery history) this long.
EVENT_RETENTION = timedelta(days=30)
USER_AGENT = "Parley-Webhooks/1.0 (+https://standardwebhooks.com)"
KEY_REVOKED_EVENT = "api_key.revoked"
# A subscription whose attempts all failed for this long is disabled (see also
# settings.WEBHOOK_DISABLE_AFTER_FAILURES, failed attempts in a row).
DISABLE_AFTER = timedelta(days=5)
SEQUENCE_HEADER = "webhook-sequence"
SYSTEM = Actor.system("webhooks")


class TooManyHooks(Conflict):
    message = f"This workspace has {HookSubscription.MAX_PER_WORKSPACE} webhook subscriptions, the most it may have."
    hint = "Delete subscriptions you no longer use (DELETE /api/v1/hooks/{id})."


def _label(hook: HookSubscription) -> str:
    return f"{hook.event} → {hook.target_url}"


def hook_validate(*, target_url: str, event: str) -> None:
    """``InvalidInput`` naming each bad field: the event type, and why the target is refused."""
    errors: dict[str, list[str]] = {}
    if event not in EVENT_TYPES:
        errors["event"] = [unknown_type_message(event)]
    try:
        target_check(target_url)
    except TargetRefused as exc:
        errors["target_url"] = [exc.reason]
    if errors:
        raise InvalidInput(errors)


def hook_create(
    *, workspace: Workspace, actor: Actor, key_id: int | None, target_url: str, event: str
) -> tuple[HookSubscription, str]:
    """Subscribe ``target_url`` to ``event``; returns the subscription and its signing secret (never stored plain).

    The target is checked (and its host resolved) before the transaction starts.
    """
    hook_validate(target_url=target_url, event=event)
    secret = secret_generate()
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()  # one count at a time
        if HookSubscription.objects.live().filter(workspace=workspace).count() >= HookSubscription.MAX_PER_WORKSPACE:
            raise TooManyHooks
        hook = HookSubscription.objects.create(
            workspace=workspace,
            event=event,
            target_url=target_url,
            secret_encrypted=encrypt(secret),
            created_by_key_id=key_id,
        )
        audit_event_create(
            action="webhook.created",
            workspace=workspace,
            actor=actor,
            target=hook,
            target_label=_label(hook),
            details={"id": hook.public_id, "event": event, "target_url": target_url},
        )
    return hook, secret


def _remove(hook_ids: Iterable[int], *, reason: str, actor: Actor, action: str) -> int:
    """Remove live subscriptions: nothing more is sent; their pending deliveries are gone."""
    now = timezone.now()
    removed = 0
    with transaction.atomic():
        hooks = list(
            HookSubscription.objects.select_for_update()
            .filter(pk__in=list(hook_ids), disabled_at__isnull=True)
            .select_related("workspace")
        )
        for hook in hooks:
            hook.disabled_at, hook.disabled_reason, hook.secret_encrypted = now, reason, ""
            hook.previous_secret_encrypted, hook.previous_secret_expires_at = "", None
            hook.save(
                update_fields=[
                    "disabled_at",
                    "disabled_reason",
                    "secret_encrypted",
                    "previous_secret_encrypted",
                    "previous_secret_expires_at",
                ]
            )
            audit_event_create(
                action=action,
                workspace=hook.workspace,
                actor=actor,
                target=hook,
                target_label=_label(hook),
                details={"id": hook.public_id, "reason": reason},
            )
            removed += 1
        Delivery.objects.filter(subscription__in=[h.pk for h in hooks], status=Delivery.Status.PENDING).update(
            status=Delivery.Status.GONE, next_attempt_at=None, finished_at=now
        )
    return removed


def hook_secret_roll(
    *, hook: HookSubscription, actor: Actor, previous_valid_for: timedelta = timedelta(0)
) -> tuple[HookSubscription, str]:
    """A new signing secret for a live subscription; returns it in plain, the only time it is shown.

    For ``previous_valid_for`` (none by default) every delivery is signed with the secret
    it replaces too, so a receiver that still verifies with it accepts them while it
    switches. Only the secret just replaced overlaps: rolling again ends the older one.
    """
    secret = secret_generate()
    with transaction.atomic():
        locked = (
            HookSubscription.objects.live().select_for_update().select_related("workspace").filter(pk=hook.pk).first()
        )
        if locked is None:  # removed meanwhile
            raise NotFound("No such webhook subscription.")
        hook = locked
        now = timezone.now()
        until = now + previous_valid_for if previous_valid_for and hook.secret_encrypted else None
        hook.previous_secret_encrypted = hook.secret_encrypted if until else ""
        hook.previous_secret_expires_at = until
        hook.secret_encrypted = encrypt(secret)
        hook.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at"])
        audit_event_create(
            action="webhook.secret_rolled",
            workspace=hook.workspace,
            actor=actor,
            target=hook,
            target_label=_label(hook),
            details={"id": hook.public_id, "previous_valid_until": until.isoformat() if until else None},
        )
    return hook, secret


def hook_signing_secrets(hook: HookSubscription, *, now: datetime) -> tuple[str, list[str]]:
    """The current secret and those still overlapping at ``now`` (plain); ``InvalidToken`` if unreadable."""
    current = decrypt(hook.secret_encrypted)
    previous = []
    if hook.previous_secret_encrypted and hook.previous_secret_expires_at and hook.previous_secret_expires_at > now:
        previous.append(decrypt(hook.previous_secret_encrypted))
    return current, previous


def hook_delete(*, hook: HookSubscription, actor: Actor) -> None:
    """The customer unsubscribes (``DELETE /api/v1/hooks/{id}``)."""
    _remove([hook.pk], reason=HookSubscription.Removed.DELETED, actor=actor, action="webhook.deleted")


def hooks_remove_for_key(*, key_id: int, reason: str = HookSubscription.Removed.KEY_REVOKED) -> int:
    """The key that made them was revoked (or expired): its subscriptions go, and receive nothing more."""
    ids = HookSubscription.objects.filter(created_by_key_id=key_id, disabled_at__isnull=True).values_list(
        "pk", flat=True
    )
    return _remove(ids, reason=reason, actor=SYSTEM, action="webhook.removed")


def hooks_remove_retired_keys() -> int:
    """Remove every live subscription whose key no longer works (the sweep's safety net)."""
    now = timezone.now()
    retired = HookSubscription.objects.filter(disabled_at__isnull=True, created_by_key__isnull=False).filter(
        Q(created_by_key__revoked_at__isnull=False) | Q(created_by_key__expires_at__lte=now)
    )
    removed = 0
    for hook_id, revoked_at in retired.values_list("pk", "created_by_key__revoked_at"):
        reason = HookSubscription.Removed.KEY_REVOKED if revoked_at else HookSubscription.Removed.KEY_EXPIRED
        removed += _remove([hook_id], reason=reason, actor=SYSTEM, action="webhook.removed")
    return removed


def event_dispatch(*, event_id: int, now: datetime | None = None) -> list[int]:
    """Hand one outbox event to webhooks, once; returns the pending deliveries to enqueue.

    A catalogue event gets one pending delivery per live subscription to its type that
    existed when it happened; ``api_key.revoked`` removes that key's subscriptions.
    The event is marked dispatched in the same transaction; a second call (the sweep
    racing the on-commit receiver) finds it dispatched and does nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(pk=event_id, dispatched_at__isnull=True).first()
        if event is None:
            return []
        pending: list[int] = []
        if event.type in EVENT_TYPES and event.workspace_id is not None:
            hooks = HookSubscription.objects.live().filter(
                workspace_id=event.workspace_id, event=event.type, created_at__lte=event.created_at
            )
            Delivery.objects.bulk_create(
                [
                    Delivery(subscription=hook, event=event, next_attempt_at=now, sequence=_next_sequence(hook.pk))
                    for hook in hooks.order_by("pk")
                ],
                ignore_conflicts=True,
            )
            pending = list(
                Delivery.objects.filter(event=event, status=Delivery.Status.PENDING).values_list("pk", flat=True)
            )
        elif event.type == KEY_REVOKED_EVENT and isinstance(event.data.get("id"), int):
            hooks_remove_for_key(key_id=event.data["id"])
        event.dispatched_at = now
        event.save(update_fields=["dispatched_at"])
    return pending


def _next_sequence(hook_id: int) -> int:
    """The subscription's next delivery number (in the caller's transaction; the UPDATE serialises writers)."""
    HookSubscription.objects.filter(pk=hook_id).update(last_sequence=F("last_sequence") + 1)
    return HookSubscription.objects.filter(pk=hook_id).values_list("last_sequence", flat=True).get()


def event_replay(*, hook: HookSubscription, event_id: str, actor: Actor) -> Delivery:
    """Send an event of the subscription's workspace to it again: a new delivery, due now, with the next sequence.

    ``event_id`` is the public ``evt_…``; one of another workspace (or gone: events are
    kept 30 days) is ``NotFound`` like an unknown one, and one of another type than the
    subscription's is refused. Returns the pending delivery (``webhooks.tasks`` enqueues it).
    """
    with transaction.atomic():
        locked = HookSubscription.objects.live().select_for_update().filter(pk=hook.pk).first()
        if locked is None:
            raise NotFound("No such webhook subscription.")
        event = Event.objects.filter(workspace_id=locked.workspace_id, public_id=event_id).first()
        if event is None or event.type not in EVENT_TYPES:
            raise NotFound("No such event.", hint="Events are kept for 30 days: GET /api/v1/events lists them.")
        if event.type != locked.event:
            raise InvalidInput({"event_id": [f"This subscription receives {locked.event} events, not {event.type}."]})
        delivery = Delivery.objects.create(
            subscription=locked,
            event=event,
            is_replay=True,
            sequence=_next_sequence(locked.pk),
            next_attempt_at=timezone.now(),
        )
        audit_event_create(
            action="webhook.event_replayed",
            workspace=Workspace.objects.get(pk=locked.workspace_id),
            actor=actor,
            target=locked,
            target_label=_label(locked),
            details={"id": locked.public_id, "event_id": event.public_id, "delivery": delivery.pk},
        )
    return delivery


def _failure_counted(hook_id: int, now: datetime) -> bool:
    """One more failed attempt in a row; a streak of ``DISABLE_AFTER`` (or the setting's count) disables
    the subscription. Returns whether it did."""
    live = HookSubscription.objects.filter(pk=hook_id, disabled_at__isnull=True)
    live.update(consecutive_failures=F("consecutive_failures") + 1, failing_since=Coalesce("failing_since", now))
    streak = live.values_list("consecutive_failures", "failing_since").first()
    if streak is None:
        return False
    count, since = streak
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    if (since is not None and now - since >= DISABLE_AFTER) or (limit and count >= limit):
        return hook_disable_failing(hook_id=hook_id)
    return False


def _success_counted(hook_id: int) -> None:
    """A delivery got through: the failure streak starts again from nothing."""
    HookSubscription.objects.filter(pk=hook_id).exclude(consecutive_failures=0, failing_since=None).update(
        consecutive_failures=0, failing_since=None
    )


def hook_disable_failing(*, hook_id: int) -> bool:
    """Disable a subscription whose deliveries keep failing (removed, reason ``disabled_failing``);
    after commit its workspace's owners and admins are e-mailed, once (only the call that disabled it mails)."""
    with transaction.atomic():
        hook = HookSubscription.objects.filter(pk=hook_id).select_related("workspace").first()
        if hook is None:
            return False
        failed, since = hook.consecutive_failures, hook.failing_since
        removed = _remove(
            [hook_id], reason=HookSubscription.Removed.DISABLED_FAILING, actor=SYSTEM, action="webhook.disabled"
        )
        if removed:
            transaction.on_commit(
                partial(_notify_disabled, hook=hook, failed_attempts=failed, failing_since=since), robust=True
            )
    return bool(removed)


def _notify_disabled(*, hook: HookSubscription, failed_attempts: int, failing_since: datetime | None) -> None:
    last = (
        Delivery.objects.filter(subscription=hook, last_attempt_at__isnull=False).order_by("-last_attempt_at").first()
    )
    context = {
        "hook": hook,
        "workspace": hook.workspace,
        "failed_attempts": failed_attempts,
        "failing_since": failing_since,
        "last_error": last.last_error if last else "",
        "audit_url": settings.PUBLIC_BASE_URL + reverse("audit-log"),
    }
    try:
        workspace_managers_email(
            workspace=hook.workspace,
            subject=f"[Parley] Webhook {hook.public_id} was disabled: its deliveries kept failing",
            body=render_to_string("webhooks/email/hook_disabled.txt", context),
        )
    except Exception:  # it stays disabled: a mail server's failure must not undo or hide it
        logger.exception("The e-mail about disabled webhook %s could not be sent", hook.public_id)


@dataclass(frozen=True)
class AttemptOutcome:
    """``status`` is the delivery's status afterwards, or ``"skipped"`` (not due, or someone else's)."""

    status: str
    retry_at: datetime | None = None


def _record(delivery: Delivery, attempt: int, **fields: object) -> bool:
    """Write an attempt's outcome unless the delivery moved on meanwhile (removed, retried, reclaimed)."""
    return bool(
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING, attempts=attempt).update(**fields)
    )


def _failed(delivery: Delivery, attempt: int, now: datetime, *, error: str, code: int | None = None) -> AttemptOutcome:
    """Record a failed attempt, and count it in the subscription's streak (which may disable it)."""
    error = error[: Delivery.MAX_ERROR_LENGTH]
    if attempt >= MAX_ATTEMPTS:
        recorded = _record(
            delivery,
            attempt,
            status=Delivery.Status.FAILED,
            next_attempt_at=None,
            finished_at=now,
            last_status_code=code,
            last_error=error,
        )
        if recorded:
            _failure_counted(delivery.subscription_id, now)
        return AttemptOutcome(Delivery.Status.FAILED)
    retry_at = now + RETRY_SCHEDULE[attempt - 1]
    if not _record(delivery, attempt, next_attempt_at=retry_at, last_status_code=code, last_error=error):
        return AttemptOutcome("skipped")
    if _failure_counted(delivery.subscription_id, now):
        return AttemptOutcome(Delivery.Status.GONE)  # that failure disabled the subscription: no retry
    return AttemptOutcome(Delivery.Status.PENDING, retry_at=retry_at)


def _answer_error(status: int, body: bytes) -> str:
    text = f"HTTP {status}"
    if 300 <= status < 400:
        text += " (redirects are not followed: subscribe the final URL)"
    # The receiver's words, for support staff: text only. A NUL (which PostgreSQL refuses in text) or
    # any other control character becomes "?", so no answer can make the attempt's record fail.
    snippet = "".join(ch if ch.isprintable() else "?" for ch in body[:200].decode("utf-8", "replace")).strip()
    return f"{text}: {snippet}" if snippet else text


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> AttemptOutcome:
    """One attempt of a due pending delivery; ``now`` is the clock (tests move it forward).

    Claiming moves ``next_attempt_at`` one lease ahead and counts the attempt, in one
    conditional UPDATE: of two workers holding the same task, one attempts. 2xx is
    success; 410 removes the subscription; anything else (another status, a refused
    or unreachable target, a timeout) is retried on ``RETRY_SCHEDULE``, then failed.
    Nothing is sent for a removed subscription, or one whose key no longer works
    (which removes it).
    """
    now = now or timezone.now()
    claimed = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now).update(
        attempts=F("attempts") + 1, next_attempt_at=now + attempt_lease(), last_attempt_at=now
    )
    if not claimed:
        return AttemptOutcome("skipped")
    delivery = Delivery.objects.select_related("event", "subscription__created_by_key").get(pk=delivery_id)
    hook, attempt = delivery.subscription, delivery.attempts
    if hook.disabled_at is not None:
        _record(delivery, attempt, status=Delivery.Status.GONE, next_attempt_at=None, finished_at=now)
        return AttemptOutcome(Delivery.Status.GONE)
    key: ApiKey | None = hook.created_by_key
    if key is not None and not key.is_active:
        reason = HookSubscription.Removed.KEY_REVOKED if key.is_revoked else HookSubscription.Removed.KEY_EXPIRED
        _remove([hook.pk], reason=reason, actor=SYSTEM, action="webhook.removed")
        return AttemptOutcome(Delivery.Status.GONE)
    try:
        secret, previous = hook_signing_secrets(hook, now=now)
    except InvalidToken:
        return _failed(delivery, attempt, now, error="The signing secret cannot be read (FIELD_ENCRYPTION_KEYS).")
    event = delivery.event
    body = event_body(event)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signed_headers(
            secret=secret, msg_id=event.public_id, timestamp=int(now.timestamp()), body=body, previous_secrets=previous
        ),
    }
    if delivery.sequence is not None:
        headers[SEQUENCE_HEADER] = str(delivery.sequence)
    try:
        answer = target_post(target_check(hook.target_url), body=body, headers=headers)
    except TargetRefused as exc:
        return _failed(delivery, attempt, now, error=f"Not sent: {exc.reason}")
    except TargetUnreachable as exc:
        return _failed(delivery, attempt, now, error=str(exc))
    if 200 <= answer.status < 300:
        _record(
            delivery,
            attempt,
            status=Delivery.Status.SUCCEEDED,
            next_attempt_at=None,
            finished_at=now,
            last_status_code=answer.status,
            last_error="",
        )
        _success_counted(hook.pk)
        return AttemptOutcome(Delivery.Status.SUCCEEDED)
    if answer.status == 410:
        with transaction.atomic():
            _record(delivery, attempt, last_status_code=410, last_error="HTTP 410 Gone: the subscription was removed.")
            _remove([hook.pk], reason=HookSubscription.Removed.GONE, actor=SYSTEM, action="webhook.removed")
        return AttemptOutcome(Delivery.Status.GONE)
    return _failed(delivery, attempt, now, error=_answer_error(answer.status, answer.body), code=answer.status)


def deliveries_retry(*, delivery_ids: Iterable[int], actor: Actor) -> list[int]:
    """Put pending and failed deliveries of live subscriptions back in line, due now ("Retry now").

    A failed delivery gets one more attempt (and fails again if it fails); a pending one
    is attempted now instead of at its scheduled time. Returns the ids to enqueue.
    """
    may = actor.kind == ActorKind.SYSTEM or (actor.user is not None and actor.user.has_perm("webhooks.retry_delivery"))
    if not may:
        raise Forbidden("Only support staff may retry webhook deliveries.")
    now = timezone.now()
    with transaction.atomic():
        retryable = Delivery.objects.select_for_update().filter(
            pk__in=list(delivery_ids),
            status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED],
            subscription__disabled_at__isnull=True,
        )
        rows = list(retryable.values_list("pk", "subscription__workspace_id", "event__public_id"))
        Delivery.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
            status=Delivery.Status.PENDING, next_attempt_at=now, finished_at=None
        )
        by_workspace: dict[int, list[str]] = {}
        for pk, workspace_id, event_id in rows:
            by_workspace.setdefault(workspace_id, []).append(f"{event_id} (delivery {pk})")
        for workspace in Workspace.objects.filter(pk__in=by_workspace):
            audit_event_create(
                action="webhook.delivery_retried",
                workspace=workspace,
                actor=actor,
                details={"deliveries": by_workspace[workspace.pk]},
            )
    return [pk for pk, _, _ in rows]


def deliveries_requeue_stale(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Pending deliveries due longer than ``requeue_after()`` ago (their task was lost: a killed
    worker, a missed enqueue), made due now; returns the ids to enqueue again."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now - requeue_after())
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(next_attempt_at=now)
    if ids:
        logger.warning("webhooks: %d stale deliveries enqueued again", len(ids))
    return ids
