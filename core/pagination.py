"""Cursor pagination of the public API (SPEC §4): newest first, ``?limit=`` up to 100.

Every list answers ``{"next": url|null, "previous": url|null, "results": [...]}``.
Cursors are opaque and signed: a client can only follow the ``next``/``previous``
URLs a response gave it, so an edited or made-up cursor is refused (400) instead of
quietly landing on some other position, and never reaches the database as a bad
timestamp (a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import signing
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

INVALID_CURSOR = "Invalid cursor. Use the next or previous URL exactly as a list response gave it."
INVALID_LIMIT = "limit must be a whole number from 1 to 100."


class ApiCursorPagination(CursorPagination):
    """``?limit=`` (default 25) and ``?cursor=``, ordered ``-created_at`` then ``-id``.

    ``limit`` above 100 is capped at 100, as SPEC §4 says. Anything that is not a
    whole number from 1 up (``abc``, ``0``, ``-5``, ``2.5``, an empty value) is a 400
    naming ``limit``: silently serving 25 rows to a client that asked for ``abc``
    would hide its bug. A malformed or tampered cursor is a 400 naming ``cursor``
    (DRF answers 404, which reads as "this list does not exist").

    The model needs a ``created_at`` field; DRF positions on it and steps over rows
    sharing one timestamp with an offset, and ``-id`` keeps their order stable.
    """

    page_size = 25
    max_page_size = 100
    page_size_query_param = "limit"
    page_size_query_description = "Results per page, 1 to 100 (default 25; larger values are capped at 100)."
    cursor_query_param = "cursor"
    cursor_query_description = "The position to list from: use the next or previous URL of a list response."
    ordering = ("-created_at", "-id")

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        digits = raw.lstrip("0")
        if not (raw.isascii() and raw.isdigit()) or not digits:
            raise ValidationError({self.page_size_query_param: [INVALID_LIMIT]})
        if len(digits) > 3:  # over the cap, and int() need not parse a huge number
            return self.max_page_size
        return min(int(digits), self.max_page_size)

    def encode_cursor(self, cursor: Cursor) -> str:
        return replace_query_param(self.base_url or "", self.cursor_query_param, cursor_token(cursor))

    def decode_cursor(self, request: Request) -> Cursor | None:
        token = request.query_params.get(self.cursor_query_param)
        if token is None:
            return None
        try:
            # Signed, so the payload is one we wrote; unpacking fails only for a
            # cursor of some older layout.
            offset, reverse, position = _signer().unsign_object(token)
        except (signing.BadSignature, ValueError, TypeError):
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from None
        return Cursor(offset=min(offset, self.offset_cutoff), reverse=bool(reverse), position=position)


def cursor_token(cursor: Cursor) -> str:
    """The ``?cursor=`` value of ``cursor``: signed, so only cursors this API wrote are accepted."""
    return _signer().sign_object([cursor.offset, int(cursor.reverse), cursor.position])


def _signer() -> signing.Signer:
    # Built per call so it follows SECRET_KEY (and SECRET_KEY_FALLBACKS while a key
    # rotates: cursors a client holds keep working until the old key is dropped).
    return signing.Signer(salt="core.pagination.cursor")


def paginated(queryset: Any, payload: Callable[[Any], Any], *, request: Request, view: Any) -> Response:
    """One page of ``queryset``, each row shaped by ``payload``, in the ``{next, previous, results}`` envelope."""
    paginator = ApiCursorPagination()
    page = paginator.paginate_queryset(queryset, request, view)
    return paginator.get_paginated_response([payload(row) for row in page or []])
