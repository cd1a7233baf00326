"""System checks of the deployment (``manage.py check --deploy``): what production must not run without."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def shared_cache_configured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Without ``REDIS_URL`` every process counts rate limits on its own and caches nothing shared:
    the embedded default's trade-off (``django_ratelimit.E003`` is silenced for it), never production's."""
    if settings.REDIS_URL:
        return []
    return [
        Warning(
            "REDIS_URL is not set: rate limits are counted per process, so N processes allow N times each limit.",
            hint="Set REDIS_URL to the Redis every app host shares (redis://host:6379/0).",
            id="parley.W001",
        )
    ]
