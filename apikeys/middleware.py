"""Records every ``/api/v1/`` request made with a known key in the request log (``apikeys.usage``).

It sits right inside ``core.middleware.RequestIdMiddleware``, so it sees the answer the
client gets from the whole chain (a 413 of the body limit, a 500 turned into JSON, a 401
of a revoked key). Authentication names the key (``request.state.key_id``) as soon as its
digest is found, so refused requests of a revoked or expired key are recorded too; a
request whose key is unknown has nothing to be attributed to and is not recorded.

What is kept of the path: the path itself and the query's parameter *names*
(``/api/v1/contacts?cursor=&limit=``), never their values, and any ``wsk_``/``wpk_``
string redacted. Nothing is written here: the entry goes to the process's buffer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qsl, quote

from django.http import HttpRequest, HttpResponse

from apikeys import usage
from core.conf import hot
from core.logging import redact
from core.net import client_ip

API_PREFIX = "/api/v1/"


def logged_path(request: HttpRequest) -> str:
    """The path with the query's parameter names and no values: ``/api/v1/contacts?cursor=&limit=``."""
    query_string = request.META.get("QUERY_STRING", "")
    if not query_string:
        path = request.path
        return path if path in _clean else _redacted(path)
    names = [name for name, _ in parse_qsl(query_string, keep_blank_values=True)]
    query = "&".join(f"{quote(name, safe='')}=" for name in names)
    return _redacted(request.path + (f"?{query}" if query else ""))


def logged_user_agent(request: HttpRequest) -> str:
    """The ``User-Agent``, redacted."""
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    return user_agent if user_agent in _clean else _redacted(user_agent)


# Paths and user agents found to hold no secret: a client sends the same ones again and
# again, and redacting costs a regular expression's scan. Only clean strings are kept, so
# this set never holds a key; up to CLEAN_KEPT of them, of at most 512 characters.
_clean: set[str] = set()
CLEAN_KEPT = 4096


def _redacted(text: str) -> str:
    if text in _clean:
        return text
    redacted = redact(text)
    if redacted == text and len(text) <= 512:
        if len(_clean) >= CLEAN_KEPT:
            _clean.clear()
        _clean.add(text)
    return redacted


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not hot.API_REQUEST_LOG or not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        state = getattr(request, "state", None)
        if state is not None and state.key_id is not None:
            usage.record_request(  # positional: the request path's cheapest call
                state.key_id,
                request.method or "",
                logged_path(request),
                response.status_code,
                state.error_code,
                client_ip(request),
                logged_user_agent(request),
                (time.perf_counter() - started) * 1000,
                state.request_id,
            )
        return response
