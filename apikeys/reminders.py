"""Keys that look after themselves: expiry reminders and stale keys (a selector and two senders).

``key_reminders_send`` e-mails a workspace's active owners and admins 7 days and 1 day
before one of its keys expires — a rolled key's grace ending included, since the old
key of a roll simply has an ``expires_at``. Each reminder is a ``KeyReminder`` row,
unique per (key, kind), inserted in the transaction that sends the e-mail: of two
workers (or a worker and the cron command) only one inserts it, and a mail server that
fails rolls the claim back, so the next run tries again. A key whose lifetime is
shorter than the window (a 3-day key gets no 7-day reminder) and revoked or expired
keys get nothing.

``stale_keys_digest_send`` e-mails each workspace's owners, once per ISO week (a
``StaleKeyDigest`` row per workspace and week, claimed the same way), the keys nobody
has used for ``STALE_AFTER`` (``last_used_at``, or ``created_at`` for a key never used),
unless the workspace turned it off (``Workspace.stale_keys_digest``).

Both run from ``apikeys.tasks.key_care`` (the worker, every hour) and
``manage.py send_key_reminders`` (cron); running them more often changes nothing.

``key_network_alerts_send`` e-mails the owners and admins the networks a key was first
used from (``KeyNetwork.alert_pending``, set by the request log's batches), at most once
an hour per key (``alerted_at``); the worker's ``request_log_care`` runs it every minute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil

from accounts.mail import workspace_managers_email
from accounts.models import Workspace
from apikeys.models import ApiKey, KeyNetwork, KeyReminder, StaleKeyDigest

logger = logging.getLogger(__name__)

# How long before expiry each reminder goes, the earliest first.
EXPIRY_REMINDERS: tuple[tuple[str, timedelta], ...] = (
    (KeyReminder.Kind.EXPIRES_7D, timedelta(days=7)),
    (KeyReminder.Kind.EXPIRES_1D, timedelta(days=1)),
)
NETWORK_ALERT_INTERVAL = timedelta(hours=1)  # at most one new-network e-mail per key this often
EXPIRING_SOON = timedelta(days=7)  # the key list flags keys expiring within this
STALE_AFTER = timedelta(days=90)


def _url(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


# --- what the key list shows


def expiring_in_days(key: ApiKey, now: datetime) -> int | None:
    """Whole days (rounded up) until an active key expires, if within ``EXPIRING_SOON``; else None."""
    if key.expires_at is None or not key.is_active or key.expires_at - now > EXPIRING_SOON:
        return None
    return max(1, -(-(key.expires_at - now) // timedelta(days=1)))


def unused_days(key: ApiKey, now: datetime) -> int | None:
    """Days since an active key was last used (or made, if never), once that is ``STALE_AFTER`` or more."""
    since = key.last_used_at or key.created_at
    if not key.is_active or since is None or now - since < STALE_AFTER:
        return None
    return (now - since).days


def stale_keys(*, now: datetime) -> QuerySet[ApiKey]:
    """Active keys unused for ``STALE_AFTER`` (by ``last_used_at``, else ``created_at``)."""
    return (
        ApiKey.objects.usable()
        .annotate(seen_at=Coalesce("last_used_at", "created_at"))
        .filter(seen_at__lte=now - STALE_AFTER)
        .select_related("workspace")
        .order_by("workspace_id", "seen_at", "pk")
    )


# --- expiry reminders


def _expiring(kind: str, window: timedelta, now: datetime) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.usable()
        .filter(expires_at__lte=now + window, workspace__status=Workspace.Status.ACTIVE)
        .exclude(reminders__kind=kind)
        .select_related("workspace")
        .order_by("expires_at", "pk")
    )


def key_reminders_send(*, now: datetime | None = None) -> int:
    """Send the expiry reminders that are due and not sent yet; returns how many keys were reminded."""
    now = now or timezone.now()
    sent = 0
    for kind, window in EXPIRY_REMINDERS:
        for key in _expiring(kind, window, now):
            if key.expires_at is None or key.expires_at - key.created_at <= window:
                continue  # it was made to live less than this: whoever made it knows
            if kind == KeyReminder.Kind.EXPIRES_7D and key.expires_at - now <= timedelta(days=1):
                continue  # found only inside the last day: the 1-day reminder says it
            if _claim_and_send(key, kind, now):
                sent += 1
    return sent


def _claim_and_send(key: ApiKey, kind: str, now: datetime) -> bool:
    try:
        with transaction.atomic():
            KeyReminder.objects.create(api_key=key, kind=kind)
            _send_expiry(key, kind, now)
    except IntegrityError:  # another worker has it
        return False
    except Exception:  # the claim is rolled back: the next run tries again
        logger.exception("The %s reminder for key %s could not be sent", kind, key.hint)
        return False
    return True


def _send_expiry(key: ApiKey, kind: str, now: datetime) -> None:
    if key.expires_at is None:  # _expiring() selects keys that expire
        return
    rolled = ApiKey.objects.filter(rolled_from=key).exists()
    context = {
        "key": key,
        "workspace": key.workspace,
        "rolled": rolled,
        "when": f"in {timeuntil(key.expires_at, now, depth=1)}",
        "kind_label": KeyReminder.Kind(kind).label,
        "key_url": _url(reverse("apikeys:detail", args=[key.pk])),
        "list_url": _url(reverse("apikeys:list")),
    }
    what = "grace ends" if rolled else "expires"
    subject = f'[Parley] API key "{key.name}" ({key.hint}) {what} {context["when"]}'
    workspace_managers_email(
        workspace=key.workspace, subject=subject, body=render_to_string("apikeys/email/key_expiring.txt", context)
    )


# --- the weekly stale-keys digest


@dataclass(frozen=True)
class StaleRow:
    key: ApiKey
    days: int
    revoke_url: str


def _week_of(now: datetime) -> datetime:
    return now - timedelta(days=now.weekday())


def stale_keys_digest_send(*, now: datetime | None = None) -> int:
    """Send this week's digest to each workspace (digest on) with stale keys, once; returns how many went."""
    now = now or timezone.now()
    week = _week_of(now).date()
    by_workspace: dict[int, list[ApiKey]] = {}
    keys = (
        stale_keys(now=now)
        .filter(workspace__stale_keys_digest=True, workspace__status=Workspace.Status.ACTIVE)
        .exclude(Q(workspace__in=StaleKeyDigest.objects.filter(week=week).values("workspace")))
    )
    for key in keys:
        by_workspace.setdefault(key.workspace_id, []).append(key)
    sent = 0
    for workspace_keys in by_workspace.values():
        workspace = workspace_keys[0].workspace
        try:
            with transaction.atomic():
                StaleKeyDigest.objects.create(workspace=workspace, week=week)
                _send_digest(workspace, workspace_keys, now)
        except IntegrityError:
            continue
        except Exception:
            logger.exception("The stale-keys digest of workspace %s could not be sent", workspace.pk)
            continue
        sent += 1
    return sent


def _send_digest(workspace: Workspace, keys: list[ApiKey], now: datetime) -> None:
    rows = [
        StaleRow(key=key, days=unused_days(key, now) or 0, revoke_url=_url(reverse("apikeys:revoke", args=[key.pk])))
        for key in keys
    ]
    context = {
        "workspace": workspace,
        "rows": rows,
        "stale_days": STALE_AFTER.days,
        "list_url": _url(reverse("apikeys:list")),
    }
    count = f"{len(rows)} API key{'s' if len(rows) != 1 else ''}"
    workspace_managers_email(
        workspace=workspace,
        subject=f'[Parley] {count} of "{workspace.name}" unused for {STALE_AFTER.days} days',
        body=render_to_string("apikeys/email/stale_keys.txt", context),
        owners_only=True,
    )


# --- new networks


def key_network_alerts_send(*, now: datetime | None = None) -> int:
    """Mail each key's pending new networks, unless that key's last such mail is under an hour old;
    returns how many mails went. The key's row is locked while its networks are claimed, so of
    two workers only one sends; a mail server that fails rolls the claim back."""
    now = now or timezone.now()
    sent = 0
    key_ids = set(KeyNetwork.objects.filter(alert_pending=True).values_list("api_key_id", flat=True))
    for key_id in sorted(key_ids):
        mailed = False
        try:
            with transaction.atomic():
                key = ApiKey.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=key_id)
                networks = KeyNetwork.objects.filter(api_key=key)
                if networks.filter(alerted_at__gt=now - NETWORK_ALERT_INTERVAL).exists():
                    continue  # mailed within the hour: these wait for the next
                pending = list(networks.filter(alert_pending=True).order_by("first_seen", "pk"))
                networks.filter(pk__in=[n.pk for n in pending]).update(alert_pending=False, alerted_at=now)
                if not pending or not key.is_active:
                    continue  # a revoked or expired key can do nothing more
                _send_new_networks(key, pending)
                mailed = True
        except ApiKey.DoesNotExist:
            continue
        except Exception:
            logger.exception("The new-network alert for key %s could not be sent", key_id)
        sent += mailed
    return sent


def _send_new_networks(key: ApiKey, networks: list[KeyNetwork]) -> None:
    context = {
        "key": key,
        "workspace": key.workspace,
        "networks": networks,
        "known_days": KeyNetwork.NEW_AFTER.days,
        "key_url": _url(reverse("apikeys:detail", args=[key.pk])),
        "list_url": _url(reverse("apikeys:list")),
    }
    where = networks[0].network if len(networks) == 1 else f"{len(networks)} new networks"
    workspace_managers_email(
        workspace=key.workspace,
        subject=f'[Parley] API key "{key.name}" ({key.hint}) used from {where}',
        body=render_to_string("apikeys/email/new_network.txt", context),
    )


def key_care_run(*, now: datetime | None = None) -> dict[str, int]:
    """Everything due: expiry reminders, then this week's stale-keys digests."""
    now = now or timezone.now()
    return {"reminders": key_reminders_send(now=now), "digests": stale_keys_digest_send(now=now)}
