"""A URL resolver that remembers its matches: ``/api/v1/`` resolves each path once per process."""

from __future__ import annotations

from typing import Any

from django.urls import ResolverMatch, URLResolver

# Paths remembered per resolver (``/api/v1/contacts/123`` is a path of its own); when full, it
# starts again, so paths made up by a client cost memory once, not forever.
MAX_MATCHES = 4096


class MemoizedResolver(URLResolver):
    """``URLResolver`` whose ``resolve`` keeps each path's match (misses, the 404s, are not kept).

    Django walks the patterns on every request: for ``/api/v1/me`` four nested matches, a
    fifth of what the key check costs a warm request (issue #23). A match depends only on
    the path and the patterns, which do not change in a running process; the resolver above
    copies what it takes from it (args, kwargs) into a match of its own for the request.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._matches: dict[str, ResolverMatch] = {}

    def resolve(self, path: str) -> ResolverMatch:
        key = str(path)
        match = self._matches.get(key)
        if match is None:
            match = super().resolve(path)
            # ``tried`` lists every pattern tested before the match, which the resolver above
            # copies on every request; the match's own path (the last entry) is what a match needs.
            match.tried = (match.tried or [])[-1:]
            if len(self._matches) >= MAX_MATCHES:
                self._matches.clear()
            self._matches[key] = match
        return match
