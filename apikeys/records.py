"""The slice of a key that the request path needs, as stored in the shared cache."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from apikeys.models import ApiKey


@functools.lru_cache(maxsize=256)  # every warm request asks; the rates in use are few
def parse_rate(rate: str) -> tuple[int, int]:
    """``"1000/h"`` → ``(1000, 3600)``; also ``"10/5m"``, ``"60/s"``, ``"5000/d"``."""
    count, _, period = rate.partition("/")
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    multiplier = period.rstrip("smhd") or "1"
    if not period or period[-1] not in units or not count.isdigit() or not multiplier.isdigit():
        raise ValueError(f"{rate!r} is not a rate such as 1000/h")
    seconds = int(multiplier) * units[period[-1]]
    if int(count) <= 0 or seconds <= 0:
        raise ValueError(f"{rate!r} must allow at least one request per period")
    return int(count), seconds


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


@dataclass(frozen=True)
class KeyRecord:
    """An API key as the request path sees it: no digest, no secret.

    Its one serialization is ``to_json``/``from_json`` (the ``record`` field of the
    key's Redis hash, see ``apikeys.cache``). Times are unix seconds.
    """

    id: int
    cache_version: int
    workspace_id: int
    workspace_name: str
    workspace_plan: str
    workspace_status: str
    kind: str
    name: str
    hint: str
    scopes: list[str]
    allowed_ips: list[str]
    allowed_origins: list[str]
    expires_at: float | None
    revoked: bool
    rate_limit: str  # e.g. "1000/h"
    rate_period: int  # the rate limit's window in seconds
    last_used_at: float | None

    @classmethod
    def from_model(cls, key: ApiKey) -> KeyRecord:
        rate = key.effective_rate_limit
        return cls(
            id=key.pk,
            cache_version=key.cache_version,
            workspace_id=key.workspace_id,
            workspace_name=key.workspace.name,
            workspace_plan=key.workspace.plan,
            workspace_status=key.workspace.status,
            kind=key.kind,
            name=key.name,
            hint=key.hint,
            scopes=list(key.scopes),
            allowed_ips=list(key.allowed_ips),
            allowed_origins=list(key.allowed_origins),
            expires_at=_ts(key.expires_at),
            revoked=key.revoked_at is not None,
            rate_limit=rate,
            rate_period=parse_rate(rate)[1],
            last_used_at=_ts(key.last_used_at),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> KeyRecord:
        """Raises ``ValueError`` or ``TypeError`` for an entry another release wrote."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise TypeError("not a key record")
        return cls(**data)

    @functools.cached_property  # frozen, yet cached: cached_property writes the instance's __dict__ itself
    def summary(self) -> dict[str, Any]:
        """The key and its workspace as ``GET /api/v1/me`` shows them (never the digest or secret).

        Made once per record: a record never changes (a changed key is read as a new one), and
        a warm request's record is the one this process holds. Callers must not modify it.
        """
        expiry = self.expiry
        return {
            "workspace": {"id": self.workspace_id, "name": self.workspace_name, "plan": self.workspace_plan},
            "key": {
                "name": self.name,
                "hint": self.hint,
                "kind": self.kind,
                "scopes": self.scopes,
                "expires_at": expiry.isoformat().replace("+00:00", "Z") if expiry else None,
            },
        }

    @property
    def expiry(self) -> datetime | None:
        return datetime.fromtimestamp(self.expires_at, tz=UTC) if self.expires_at is not None else None

    def is_expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @property
    def reaches_rate_limit(self) -> bool:
        """Whether a request with this key gets as far as the rate-limit step (SPEC §2 order)."""
        return not self.revoked and self.kind == "secret" and self.workspace_status == "active"
