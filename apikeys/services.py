"""The only way API keys are created, rolled and revoked; each write is audited.

Every function returns the plain key only where one is made, and nowhere keeps it.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.permissions import Action, can
from accounts.services import audit_log
from apikeys import keys
from apikeys.cache import key_cache
from apikeys.models import ApiKey
from apikeys.records import KeyRecord, parse_rate
from apikeys.scopes import plan_allows, unknown_scopes
from apikeys.signals import api_key_revoked
from core.origins import MAX_ORIGINS, normalize_origin

ROLL_GRACE_CHOICES = {
    "now": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


class KeyInputError(Exception):
    """Invalid input; ``fields`` maps a field name to its messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))
        self.fields = fields


class PlanUpgradeRequiredError(Exception):
    """A write scope on a free workspace."""

    message = "This action requires a Pro plan or higher."


class KeyPermissionError(Exception):
    """The actor may not manage this workspace's keys."""


def _require_manager(actor: User, workspace: Workspace) -> None:
    if not can(actor, Action.MANAGE_API_KEYS, workspace):
        raise KeyPermissionError("Only workspace owners and admins can manage API keys.")


def _parse_network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR range.") from None


def _clean_list(values: Iterable[str], parse: Callable[[str], str], limit: int) -> tuple[list[str], list[str]]:
    """Parse each non-blank entry; returns the sorted unique entries and the errors."""
    cleaned, errors = [], []
    for raw in values:
        value = str(raw).strip()
        if not value:
            continue
        try:
            cleaned.append(parse(value))
        except ValueError as exc:
            errors.append(str(exc))
    if len(cleaned) > limit:
        errors.append(f"At most {limit} entries.")
    return sorted(set(cleaned)), errors


def validate_key_input(
    *,
    name: str,
    kind: str,
    scopes: Iterable[str],
    allowed_ips: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    expires_at: datetime | None = None,
    rate_limit: str = "",
) -> dict[str, object]:
    """Normalise a key's settings or raise ``KeyInputError`` naming each bad field."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the key a name, such as the integration that will use it."]
    elif len(name) > ApiKey.MAX_NAME_LENGTH:
        errors["name"] = [f"At most {ApiKey.MAX_NAME_LENGTH} characters."]
    if kind not in ApiKey.Kind.values:
        errors["kind"] = ["Choose secret or publishable."]
    scopes = sorted(set(scopes))
    if unknown := unknown_scopes(scopes):
        errors["scopes"] = [f"Unknown scope: {', '.join(unknown)}."]
    elif kind == ApiKey.Kind.SECRET and not scopes:
        errors["scopes"] = ["Choose at least one scope."]
    elif kind == ApiKey.Kind.PUBLISHABLE and scopes:
        errors["scopes"] = ["Publishable keys carry no scopes: they only work with the widget."]
    ips, ip_errors = _clean_list(allowed_ips, _parse_network, ApiKey.MAX_ALLOWED_IPS)
    if ip_errors:
        errors["allowed_ips"] = ip_errors
    origins, origin_errors = _clean_list(allowed_origins, normalize_origin, MAX_ORIGINS)
    if origin_errors:
        errors["allowed_origins"] = origin_errors
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = ["The expiry must be in the future."]
    if rate_limit:
        try:
            parse_rate(rate_limit)
        except ValueError as exc:
            errors["rate_limit"] = [str(exc)]
    if errors:
        raise KeyInputError(errors)
    return {
        "name": name,
        "kind": kind,
        "scopes": scopes,
        "allowed_ips": ips,
        "allowed_origins": origins,
        "expires_at": expires_at,
        "rate_limit": rate_limit,
    }


def _new_key(*, workspace: Workspace, actor: User | None, kind: str, **fields: object) -> tuple[ApiKey, str]:
    plain = keys.generate(kind)
    key = ApiKey.objects.create(
        workspace=workspace,
        created_by=actor,
        kind=kind,
        digest=keys.digest(plain),
        hint=keys.hint(plain),
        **fields,
    )
    return key, plain


@transaction.atomic
def create_key(
    *,
    workspace: Workspace,
    actor: User,
    name: str,
    kind: str = ApiKey.Kind.SECRET,
    scopes: Iterable[str] = (),
    allowed_ips: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    expires_at: datetime | None = None,
    rate_limit: str = "",
    ip: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it and the plain key, which is never stored."""
    _require_manager(actor, workspace)
    data = validate_key_input(
        name=name,
        kind=kind,
        scopes=scopes,
        allowed_ips=allowed_ips,
        allowed_origins=allowed_origins,
        expires_at=expires_at,
        rate_limit=rate_limit,
    )
    if not plan_allows(workspace.plan, data["scopes"]):  # type: ignore[arg-type]  # validated list
        raise PlanUpgradeRequiredError
    key, plain = _new_key(workspace=workspace, actor=actor, **data)  # type: ignore[arg-type]  # validated
    audit_log(
        action="api_key.created",
        workspace=workspace,
        actor_user=actor,
        target=key,
        target_label=f"{key.name} ({key.hint})",
        ip=ip,
        details={"kind": key.kind, "scopes": key.scopes, "hint": key.hint},
    )
    return key, plain


def _invalidate(key: ApiKey) -> None:
    """Bump the key's cache version and tombstone it, now and again after commit."""
    ApiKey.objects.filter(pk=key.pk).update(cache_version=F("cache_version") + 1)
    key.refresh_from_db(fields=["cache_version"])
    digest, version = key.digest, key.cache_version
    # Before commit too: a request that reads the old row meanwhile cannot cache it
    # (its version is older than the tombstone's), and tests inside one
    # transaction see the same behaviour as production.
    key_cache.invalidate(digest, version)
    transaction.on_commit(lambda: key_cache.invalidate(digest, version))


@transaction.atomic
def roll_key(*, key: ApiKey, actor: User, grace: timedelta = timedelta(0), ip: str | None = None) -> tuple[ApiKey, str]:
    """Issue a new key with the same settings; the old one expires after ``grace``."""
    key = ApiKey.objects.select_for_update().select_related("workspace").get(pk=key.pk)
    _require_manager(actor, key.workspace)
    if not key.is_active:
        raise KeyInputError({"key": ["Only an active key can be rolled."]})
    if not plan_allows(key.workspace.plan, key.scopes):
        raise PlanUpgradeRequiredError
    new_key, plain = _new_key(
        workspace=key.workspace,
        actor=actor,
        kind=key.kind,
        name=key.name,
        scopes=key.scopes,
        allowed_ips=key.allowed_ips,
        allowed_origins=key.allowed_origins,
        expires_at=key.expires_at,
        rate_limit=key.rate_limit,
        rolled_from=key,
    )
    ends = timezone.now() + grace
    key.expires_at = min(ends, key.expires_at) if key.expires_at else ends
    key.save(update_fields=["expires_at"])
    _invalidate(key)
    audit_log(
        action="api_key.rolled",
        workspace=key.workspace,
        actor_user=actor,
        target=key,
        target_label=f"{key.name} ({key.hint})",
        ip=ip,
        details={"new_key_id": new_key.pk, "new_hint": new_key.hint, "old_expires_at": key.expires_at.isoformat()},
    )
    audit_log(
        action="api_key.created",
        workspace=key.workspace,
        actor_user=actor,
        target=new_key,
        target_label=f"{new_key.name} ({new_key.hint})",
        ip=ip,
        details={"kind": new_key.kind, "scopes": new_key.scopes, "hint": new_key.hint, "rolled_from": key.pk},
    )
    return new_key, plain


@transaction.atomic
def revoke_key(*, key: ApiKey, actor: User, ip: str | None = None, via: str = "app", reason: str = "") -> ApiKey:
    """Revoke now. Every worker refuses the key from the next request on."""
    key = ApiKey.objects.select_for_update().select_related("workspace").get(pk=key.pk)
    if not (can(actor, Action.MANAGE_API_KEYS, key.workspace) or actor.has_perm("apikeys.revoke_apikey")):
        raise KeyPermissionError("Only workspace owners and admins, or support staff, can revoke keys.")
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.revoked_by = actor
    key.save(update_fields=["revoked_at", "revoked_by"])
    _invalidate(key)
    api_key_revoked.send(sender=ApiKey, api_key=key)
    audit_log(
        action="api_key.revoked",
        workspace=key.workspace,
        actor_user=actor,
        target=key,
        target_label=f"{key.name} ({key.hint})",
        ip=ip,
        details={"via": via, "hint": key.hint, **({"reason": reason} if reason else {})},
    )
    return key


def invalidate_workspace_keys(workspace: Workspace) -> None:
    """A workspace's plan or status changed: every cached key of it is stale."""
    for key in ApiKey.objects.filter(workspace=workspace).only("id", "digest", "cache_version"):
        _invalidate(key)


# Per-process memory of the last ``last_used_at`` write per key (id and hint: an id
# alone can be reused by SQLite after a deletion).
_last_used_written: dict[tuple[int, str], float] = {}


def touch_last_used(*, record: KeyRecord, ip: str) -> None:
    """Record use at most once a minute per key, across all processes."""
    interval = ApiKey.LAST_USED_WRITE_INTERVAL.total_seconds()
    now = time.time()
    memo = (record.id, record.hint)
    if now - max(record.last_used or 0.0, _last_used_written.get(memo, 0.0)) < interval:
        return
    _last_used_written[memo] = now
    if not cache.add(f"ak-last-used:{record.id}:{record.hint}", 1, int(interval)):
        return  # another process wrote it within the minute
    now_dt = timezone.now()
    ApiKey.objects.filter(pk=record.id).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now_dt - ApiKey.LAST_USED_WRITE_INTERVAL)
    ).update(last_used_at=now_dt, last_used_ip=ip or None)
