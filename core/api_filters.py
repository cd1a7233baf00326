"""Query-string filters shared by list endpoints, validated like bodies (a 400 naming the parameter)."""

from __future__ import annotations

from datetime import datetime

from django.utils.dateparse import parse_datetime
from rest_framework.request import Request

from core.errors import InvalidInput


def datetime_param(request: Request, name: str) -> datetime | None:
    """``?updated_since=2026-12-01T10:00:00Z``: an ISO 8601 time with a zone, or a 400."""
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise InvalidInput({name: ["Use an ISO 8601 time with a zone, such as 2026-12-01T10:00:00Z."]})
    return value


def choice_param(request: Request, name: str, choices: list[str]) -> str:
    raw = request.query_params.get(name, "")
    if raw and raw not in choices:
        raise InvalidInput({name: [f"Use one of: {', '.join(choices)}."]})
    return raw
