"""Query-string filters shared by list endpoints, validated like bodies (a 400 naming the parameter)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from rest_framework.request import Request

from core.errors import InvalidInput, NotFound

NULL_CHARACTER = "Null characters are not allowed."
DATETIME_FORMAT = "Use an ISO 8601 time with a zone, such as 2026-12-01T10:00:00Z."


def datetime_param(request: Request, name: str) -> datetime | None:
    """``?updated_since=2026-12-01T10:00:00Z``: an ISO 8601 time with a zone, or a 400 (an empty value too)."""
    if name not in request.query_params:
        return None
    raw = request.query_params.get(name, "")
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise InvalidInput({name: [DATETIME_FORMAT]})
    try:
        # In UTC: the databases compare in UTC, SQLite's own conversion overflows at the
        # calendar's ends (0001-01-01T00:00:00+01:00) and PostgreSQL refuses offsets past 15:59.
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput({name: ["This time is out of range."]}) from None


def refuse_null_characters(request: Request, path_values: Collection[object]) -> None:
    """A NUL in a path id is a 404 and in a query parameter a 400 naming it (PostgreSQL refuses NUL in text)."""
    if path_values and any("\x00" in str(value) for value in path_values):
        raise NotFound()
    raw = getattr(request, "_request", request).META.get("QUERY_STRING", "")  # not through DRF's proxy
    if "%00" not in raw and "\x00" not in raw:  # a decoded value holds NUL only from one of these
        return
    refused = {
        name: [NULL_CHARACTER] for name, values in request.query_params.lists() if any("\x00" in v for v in values)
    }
    if refused:
        raise InvalidInput(refused)


def choice_param(request: Request, name: str, choices: list[str]) -> str:
    """One of ``choices``, ``""`` when the parameter is absent, else a 400 (an empty value too)."""
    raw = request.query_params.get(name, "")
    if name in request.query_params and raw not in choices:
        raise InvalidInput({name: [f"Use one of: {', '.join(choices)}."]})
    return raw
