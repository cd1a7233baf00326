"""The one JSON parser of every API: bounded in depth and width (SPEC §10).

JSON nested deeper than 32 levels, or with an object of more than 1,000 keys, is a
400 ``invalid_request`` before any view sees its data. The object hook counts each
object's keys as it is built; depth is measured on the result without recursion (a
body of 1 MiB of ``[`` fails in the C parser's own recursion guard first, in well
under a millisecond). ``NaN`` and ``Infinity`` are refused, as DRF's strict parser does.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from core.errors import ServiceError

MAX_DEPTH = 32
MAX_KEYS = 1000
MALFORMED_HINT = "Send a valid JSON object."


class TooWide(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_KEYS:
        raise TooWide
    return dict(pairs)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def too_deep() -> ServiceError:
    return ServiceError(
        f"The JSON body is nested deeper than {MAX_DEPTH} levels.", hint="Send flatter JSON: no API takes such depth."
    )


class LimitedJSONParser(JSONParser):
    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_refuse_constant)
        except RecursionError:
            raise too_deep() from None
        except TooWide:
            raise ServiceError(
                f"A JSON object in the body has more than {MAX_KEYS} keys.", hint="Send fewer keys per object."
            ) from None
        except ValueError as exc:  # JSONDecodeError, a bad encoding, NaN
            raise ServiceError(f"Malformed JSON in the request body: {exc}.", hint=MALFORMED_HINT) from None
        if _depth(data) > MAX_DEPTH:
            raise too_deep()
        return data
