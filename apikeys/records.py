"""The slice of a key that the request path needs, as stored in the shared cache."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from apikeys.models import ApiKey


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
    """An API key as the authentication path sees it (no digest, no secret)."""

    id: int
    version: int
    workspace_id: int
    workspace_name: str
    ws_plan: str
    ws_status: str
    kind: str
    name: str
    hint: str
    scopes: list[str]
    allowed_ips: list[str]
    allowed_origins: list[str]
    exp: float | None
    revoked: bool
    rate: str
    rp: int  # the rate's period in seconds (read by the Lua script)
    last_used: float | None

    @classmethod
    def from_model(cls, key: ApiKey) -> KeyRecord:
        rate = key.effective_rate_limit
        return cls(
            id=key.pk,
            version=key.cache_version,
            workspace_id=key.workspace_id,
            workspace_name=key.workspace.name,
            ws_plan=key.workspace.plan,
            ws_status=key.workspace.status,
            kind=key.kind,
            name=key.name,
            hint=key.hint,
            scopes=list(key.scopes),
            allowed_ips=list(key.allowed_ips),
            allowed_origins=list(key.allowed_origins),
            exp=_ts(key.expires_at),
            revoked=key.revoked_at is not None,
            rate=rate,
            rp=parse_rate(rate)[1],
            last_used=_ts(key.last_used_at),
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> KeyRecord:
        return cls(**data)  # type: ignore[arg-type]  # written by to_dict

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @property
    def expires_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.exp, tz=UTC) if self.exp is not None else None

    def is_expired(self, now: float) -> bool:
        return self.exp is not None and self.exp <= now

    @property
    def rate_limit(self) -> tuple[int, int]:
        return parse_rate(self.rate)
