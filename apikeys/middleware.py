"""Starts the key lookup as an ``/api/v1/`` request arrives (see ``KeyCache.begin_lookup``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apikeys import keys
from apikeys.cache import key_cache
from core.errors import ApiAuthenticationError

API_PREFIX = "/api/v1/"


class KeyLookupMiddleware:
    """Sends a well-formed key's Redis lookup early; authentication reads the answer.

    The round trip then overlaps the rest of the middleware chain instead of
    adding to the request. Authentication does everything else, as without it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        flight = None
        if request.path_info.startswith(API_PREFIX) and key_cache.enabled:
            from apikeys.authentication import presented_key

            try:
                plain = presented_key(request)  # type: ignore[arg-type]  # reads META only
            except ApiAuthenticationError:
                plain = None
            if plain and keys.kind_of(plain):
                flight = key_cache.begin_lookup(keys.digest(plain), int(time.time()))
                request.key_lookup_in_flight = flight  # type: ignore[attr-defined]  # read by authentication
        try:
            return self.get_response(request)
        finally:
            if flight is not None:
                flight.discard()
