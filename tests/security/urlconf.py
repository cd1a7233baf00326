"""The URL conf as data, for tests that must cover every route: a new route without a row fails them.

``routes()`` walks ``get_resolver()`` once and answers every route with its view, so a
table-driven test can ask "which routes take an id", "which are under /api/v1/",
"which methods does this view answer" without walking the patterns itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")
METHODS = ("get", "post", "put", "patch", "delete")
UNSAFE = ("post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    route: str  # as Django joins it, without the leading slash: "api/v1/contacts/<str:contact_id>"
    callback: Callable[..., Any]
    name: str | None

    @property
    def view_class(self) -> type | None:
        return getattr(self.callback, "view_class", None)

    @property
    def params(self) -> list[str]:
        """The names of the route's parameters, in order."""
        return [a or b for a, b in PARAM.findall(self.route)]

    @property
    def methods(self) -> list[str]:
        """The HTTP methods the view implements (a function view: GET and POST, it may answer either)."""
        view = self.view_class
        if view is None:
            return ["get", "post"]
        return [m for m in METHODS if hasattr(view, m)]

    def starts(self, *prefixes: str) -> bool:
        return self.route.startswith(prefixes)


def _walk(patterns: Iterable[Any], prefix: str) -> Iterable[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield Route(prefix + str(pattern.pattern), pattern.callback, pattern.name)


def routes(*prefixes: str, urlconf: str | None = None) -> list[Route]:
    """Every route of the URL conf (only those under ``prefixes``, when given)."""
    found = list(_walk(get_resolver(urlconf).url_patterns, ""))
    return [r for r in found if not prefixes or r.starts(*prefixes)]


def fill(route: str, ids: Mapping[str, object]) -> str:
    """The path of ``route`` with each parameter replaced by ``ids[name]``; fails naming a missing one."""
    missing = [a or b for a, b in PARAM.findall(route) if (a or b) not in ids]
    assert not missing, f"/{route}: no value for {missing}: add a row for it"
    return "/" + PARAM.sub(lambda m: str(ids[m.group(1) or m.group(2)]), route)
