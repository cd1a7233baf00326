"""The only way API keys are created, rolled and revoked; each write is audited.

Every function returns the plain key only where one is made, and nowhere keeps it.
Refusals are ``core.errors.ServiceError`` subclasses, mapped once for pages and APIs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Workspace
from accounts.permissions import DENIED_TEXT, Action, actor_may, plan_allows_scopes
from accounts.services import audit_event_create
from apikeys import keys
from apikeys.cache import key_cache
from apikeys.models import ApiKey, KeyInvalidation
from apikeys.records import parse_rate
from apikeys.scopes import unknown_scopes
from apikeys.selectors import api_key_live_successor
from core.errors import Conflict, Forbidden, InvalidInput, PlanUpgradeRequired
from core.events import emit
from core.origins import MAX_ORIGINS, normalize_origin

ROLL_GRACE_CHOICES = {
    "now": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


class KeyAlreadyRolled(Conflict):
    """A key with a live successor: rolling it again would leave two active keys of one name."""

    message = "This key was already rolled."
    hint = "Use the key that replaced it, or roll that one."


def _require(actor: Actor, action: Action, workspace: Workspace) -> None:
    if not actor_may(actor, action, workspace):
        raise Forbidden(DENIED_TEXT[action])


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


def _validated_input(
    *,
    name: str,
    kind: str,
    scopes: Iterable[str],
    allowed_ips: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    expires_at: datetime | None = None,
    rate_limit: str = "",
) -> dict[str, object]:
    """Normalise a key's settings or raise ``InvalidInput`` naming each bad field."""
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
        raise InvalidInput(errors)
    return {
        "name": name,
        "kind": kind,
        "scopes": scopes,
        "allowed_ips": ips,
        "allowed_origins": origins,
        "expires_at": expires_at,
        "rate_limit": rate_limit,
    }


def _new_key(*, workspace: Workspace, actor: Actor, kind: str, **fields: object) -> tuple[ApiKey, str]:
    plain = keys.generate(kind)
    key = ApiKey.objects.create(
        workspace=workspace,
        created_by=actor.user,
        kind=kind,
        digest=keys.digest(plain),
        hint=keys.hint(plain),
        **fields,
    )
    return key, plain


def _audit(action: str, key: ApiKey, actor: Actor, **details: object) -> None:
    audit_event_create(
        action=action,
        workspace=key.workspace,
        actor=actor,
        target=key,
        target_label=f"{key.name} ({key.hint})",
        details={"hint": key.hint, **details},
    )


@transaction.atomic
def api_key_create(
    *,
    workspace: Workspace,
    actor: Actor,
    name: str,
    kind: str = ApiKey.Kind.SECRET,
    scopes: Iterable[str] = (),
    allowed_ips: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    expires_at: datetime | None = None,
    rate_limit: str = "",
) -> tuple[ApiKey, str]:
    """Create a key; returns it and the plain key, which is never stored."""
    _require(actor, Action.MANAGE_API_KEYS, workspace)
    data = _validated_input(
        name=name,
        kind=kind,
        scopes=scopes,
        allowed_ips=allowed_ips,
        allowed_origins=allowed_origins,
        expires_at=expires_at,
        rate_limit=rate_limit,
    )
    if not plan_allows_scopes(workspace.plan, data["scopes"]):  # type: ignore[arg-type]  # validated list
        raise PlanUpgradeRequired
    key, plain = _new_key(workspace=workspace, actor=actor, **data)  # type: ignore[arg-type]  # validated
    _audit("api_key.created", key, actor, kind=key.kind, scopes=key.scopes)
    return key, plain


# Far longer than the replay window (the cache TTL): what is older has no entry left to fence.
KEEP_INVALIDATIONS = timedelta(hours=1)


def _invalidate(key: ApiKey) -> None:
    """Bump the key's cache version and tombstone it, now and again after commit."""
    ApiKey.objects.filter(pk=key.pk).update(cache_version=F("cache_version") + 1)
    key.refresh_from_db(fields=["cache_version"])
    digest, version = key.digest, key.cache_version
    KeyInvalidation.objects.create(digest=digest, version=version)  # the outbox: see apikeys.selectors
    KeyInvalidation.objects.filter(created_at__lt=timezone.now() - KEEP_INVALIDATIONS).delete()
    # Before commit too: a request that reads the old row meanwhile cannot cache it
    # (its version is older than the tombstone's), and tests inside one
    # transaction see the same behaviour as production.
    key_cache.invalidate(digest, version)
    transaction.on_commit(lambda: key_cache.invalidate(digest, version))


@transaction.atomic
def api_key_roll(*, key: ApiKey, actor: Actor, grace: timedelta = timedelta(0)) -> tuple[ApiKey, str]:
    """Issue a new key with the same settings; the old one expires after ``grace``.

    A key that already has a live successor is refused (``KeyAlreadyRolled``, with
    ``successor_id``): rolling it again would leave two active keys of one name.
    """
    key = ApiKey.objects.select_for_update().select_related("workspace").get(pk=key.pk)
    _require(actor, Action.MANAGE_API_KEYS, key.workspace)
    if not key.is_active:
        raise Conflict("Only an active key can be rolled.", hint="Create a new key instead.")
    if (successor := api_key_live_successor(key)) is not None:
        raise KeyAlreadyRolled(successor_id=successor.pk)
    if not plan_allows_scopes(key.workspace.plan, key.scopes):
        raise PlanUpgradeRequired
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
    _audit(
        "api_key.rolled",
        key,
        actor,
        new_key_id=new_key.pk,
        new_hint=new_key.hint,
        old_expires_at=key.expires_at.isoformat(),
    )
    _audit("api_key.created", new_key, actor, kind=new_key.kind, scopes=new_key.scopes, rolled_from=key.pk)
    return new_key, plain


@transaction.atomic
def api_key_revoke(
    *, key: ApiKey, actor: Actor, via: str = "app", reason: str = "", details: Mapping[str, object] | None = None
) -> ApiKey:
    """Revoke now. Every worker refuses the key from the next request on. Revoking twice is a no-op.

    ``details`` add to the audit event (e.g. where a leaked key was found).
    """
    key = ApiKey.objects.select_for_update().select_related("workspace").get(pk=key.pk)
    _require(actor, Action.REVOKE_API_KEYS, key.workspace)
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.revoked_by = actor.user
    key.save(update_fields=["revoked_at", "revoked_by"])
    _invalidate(key)
    # On commit, for whoever must let go of the key (webhooks remove the subscriptions it created).
    emit("api_key.revoked", workspace_id=key.workspace_id, data={"id": key.pk, "hint": key.hint}, actor=actor.label)
    _audit("api_key.revoked", key, actor, via=via, **({"reason": reason} if reason else {}), **(details or {}))
    return key


def api_key_invalidate_workspace(*, workspace: Workspace) -> None:
    """A workspace's plan or status changed: every cached key of it is stale."""
    for key in ApiKey.objects.filter(workspace=workspace).only("id", "digest", "cache_version"):
        _invalidate(key)
