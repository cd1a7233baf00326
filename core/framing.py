"""Letting chosen origins frame one page (SPEC §10).

Every HTML page answers ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``.
The widget demo page and the widget frame page must be framable by an assistant's
allowed origins instead: on those responses ``X-Frame-Options`` is dropped (it cannot
name a list of origins) and CSP ``frame-ancestors`` lists the origins. Every other
directive of the site's policy stays as configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from csp.constants import SELF
from django.http import HttpRequest, HttpResponseBase

from core.origins import normalize_origin

_View = Callable[..., HttpResponseBase]
# A CSP host-source with a scheme. ``normalize_origin`` refuses hosts such as
# ``shop.example.com;sandbox`` too; in a header a ``;`` starts a directive of its own, so
# the header checks again what it writes (a looser allowlist syntax must not reach it).
_HOST_SOURCE = re.compile(r"https?://((\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")


def allow_framing(response: HttpResponseBase, origins: Iterable[str]) -> HttpResponseBase:
    """Let ``origins`` frame this response; returns the response.

    ``origins`` use the allowlist syntax of ``core.origins`` (``https://shop.example.com``,
    ``https://*.example.com``, ``*``), plus ``'self'``. An empty list means ``'self'``
    only, not "anyone": unlike ``origin_allowed``, framing must be granted explicitly,
    so a widget whose empty allowlist allows all (SPEC §5) passes ``["*"]``. An entry
    that is not an origin raises ``ValueError`` rather than reach the header.
    """
    sources = [_frame_source(origin) for origin in origins] or [SELF]
    # What xframe_options_exempt sets: XFrameOptionsMiddleware then adds no header.
    response.xframe_options_exempt = True  # type: ignore[attr-defined]  # read by XFrameOptionsMiddleware
    if "X-Frame-Options" in response:
        del response["X-Frame-Options"]
    # What csp_replace sets, merged with any replacement the view already made;
    # the report-only policy (when one is configured) follows the enforced one.
    for attribute in ("_csp_replace", "_csp_replace_ro"):
        replace = dict(getattr(response, attribute, None) or {})
        replace["frame-ancestors"] = sources
        setattr(response, attribute, replace)
    return response


def _frame_source(origin: str) -> str:
    if origin == SELF:
        return SELF
    source = normalize_origin(origin)
    if source != "*" and not _HOST_SOURCE.fullmatch(source):
        raise ValueError(f"{origin!r} is not an origin that frame-ancestors can name")
    return source


def framable_by(origins_for_request: Callable[..., Iterable[str]]) -> Callable[[_View], _View]:
    """View decorator: ``origins_for_request(request, *args, **kwargs)`` may frame the page.

    For a view that already loads what decides the origins (the assistant of a widget
    frame), calling ``allow_framing`` on its response avoids loading it twice.
    """

    def decorator(view: _View) -> _View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            return allow_framing(response, origins_for_request(request, *args, **kwargs))

        return wrapped

    return decorator
