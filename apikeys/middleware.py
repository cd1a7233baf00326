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

import functools
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apikeys import usage
from core.logging import redact
from core.net import client_ip

API_PREFIX = "/api/v1/"


def logged_path(request: HttpRequest) -> str:
    """The path with the query's parameter names and no values: ``/api/v1/contacts?cursor=&limit=``."""
    query_string = request.META.get("QUERY_STRING", "")
    if not query_string:
        return redact(request.path)
    names = [name for name, _ in parse_qsl(query_string, keep_blank_values=True)]
    query = "&".join(f"{quote(name, safe='')}=" for name in names)
    return redact(request.path + (f"?{query}" if query else ""))


@functools.lru_cache(maxsize=1024)
def _redacted_agent(user_agent: str) -> str:
    return redact(user_agent)


def logged_user_agent(request: HttpRequest) -> str:
    """The ``User-Agent``, redacted; a client sends the same one every time, so the answer is kept
    (up to 1,024 of them of at most 512 characters: longer ones are redacted each time)."""
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    return _redacted_agent(user_agent) if len(user_agent) <= 512 else redact(user_agent)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.API_REQUEST_LOG or not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        state = getattr(request, "state", None)
        if state is not None and state.key_id is not None:
            usage.record(
                usage.new_entry(
                    key_id=state.key_id,
                    method=request.method or "",
                    path=logged_path(request),
                    status=response.status_code,
                    error_code=state.error_code,
                    ip=client_ip(request),
                    user_agent=logged_user_agent(request),
                    duration_ms=(time.perf_counter() - started) * 1000,
                    request_id=state.request_id,
                )
            )
        return response
