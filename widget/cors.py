"""CORS for the widget endpoints, decided per assistant (SPEC §5) through django-cors-headers.

``CORS_URLS_REGEX`` limits CORS to ``/api/widget/``, no origin is allowed globally,
and credentials never are. This receiver of django-cors-headers'
``check_request_enabled`` signal allows an origin when the assistant in the path
allows it — preflights included — and never the ``null`` origin. Two deliberate
exceptions, both for answers that carry no data the origin may not have:
- ``GET …/config`` is answered to any origin (it is a simple request, no preflight):
  a refused origin reads only the 403 ``origin_not_allowed``, so the widget can say
  why it does not start instead of failing like a network error;
- ``tickets/create`` names its assistant in the body, which a preflight cannot show:
  its preflight is answered to any origin, and the view checks the assistant's list.

Preflights count per client IP (``WIDGET_RATE_LIMITS["preflight"]``): past the limit one is not
approved, and looks nothing up.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest

from core.errors import RateLimited
from core.net import client_ip, request_origin
from widget import limits
from widget.access import origin_passes
from widget.profiles import widget_profile

_WIDGET_PATH = re.compile(r"^/api/widget/(?P<assistant>[^/]+)/(?P<endpoint>[a-z]+)$")
_TICKETS_PATH = "/api/widget/tickets/create"


def widget_cors_allowed(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    path = request.path_info
    if not path.startswith("/api/widget/"):
        return False
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    if path == _TICKETS_PATH:
        return True
    match = _WIDGET_PATH.match(path)
    if match is None:
        return False
    if match["endpoint"] == "config" and request.method == "GET":
        return True
    if request.method == "OPTIONS" and _preflights_spent(request):
        return False  # not approved, and no lookup: preflights are answered before any view's limit
    profile = widget_profile(match["assistant"])
    return profile is not None and origin_passes(request_origin(request), profile.allowed_origins)


def _preflights_spent(request: HttpRequest) -> bool:
    """Whether this IP sent more preflights than ``WIDGET_RATE_LIMITS["preflight"]`` (they are counted here:
    django-cors-headers answers them before any view, and each may look an assistant up)."""
    try:
        limits.count(request, "preflight", client_ip(request))
    except RateLimited:
        return True
    return False
