"""What the widget's public endpoints and CORS need of an assistant, cached (SPEC §5).

Every widget request (a CORS preflight included) asks "is this assistant's widget
on, and may this origin use it?". The answer comes from a small record in the
shared cache, dropped whenever the assistant or its workspace is saved
(``widget/receivers.py``), so a changed allowlist applies on the next request.
Unknown ids are cached too (briefly), so guessing ids costs no query each.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from accounts.models import Workspace
from assistants.models import Assistant

_MISSING = "missing"
MAX_ID_LENGTH = 32  # Assistant.public_id's max_length: a longer id is nobody's


@dataclass(frozen=True)
class WidgetProfile:
    assistant_pk: int
    public_id: str
    workspace_id: int
    workspace_active: bool
    allowed_origins: list[str]
    name: str
    greeting: str
    theme: dict[str, Any]
    lead_capture: bool
    identity_verification: str

    @classmethod
    def from_assistant(cls, assistant: Assistant) -> WidgetProfile:
        return cls(
            assistant_pk=assistant.pk,
            public_id=assistant.public_id,
            workspace_id=assistant.workspace_id,
            workspace_active=assistant.workspace.status == Workspace.Status.ACTIVE,
            allowed_origins=list(assistant.allowed_origins),
            name=assistant.name,
            greeting=assistant.greeting,
            theme=dict(assistant.theme),
            lead_capture=assistant.lead_capture,
            identity_verification=assistant.identity_verification,
        )


def _cache_key(public_id: str) -> str:
    return f"widget:profile:{public_id}"


def widget_profile(public_id: str) -> WidgetProfile | None:
    """The profile of a widget-enabled assistant, or ``None`` (unknown, or its widget is off)."""
    if not 0 < len(public_id) <= MAX_ID_LENGTH:
        return None
    key = _cache_key(public_id)
    cached = cache.get(key)
    if cached == _MISSING:
        return None
    if isinstance(cached, dict):
        try:
            return WidgetProfile(**cached)
        except TypeError:  # written by another release
            pass
    assistant = Assistant.objects.select_related("workspace").filter(public_id=public_id, widget_enabled=True).first()
    profile = WidgetProfile.from_assistant(assistant) if assistant else None
    timeout = settings.WIDGET_PROFILE_CACHE_SECONDS
    cache.set(key, asdict(profile) if profile else _MISSING, timeout if profile else min(timeout, 10))
    return profile


def forget_profiles(public_ids: list[str]) -> None:
    """Drop cached profiles (after a save). While Redis is unreachable its copies live out their TTL."""
    cache.delete_many([_cache_key(public_id) for public_id in public_ids])
