"""Scopes of secret keys (SPEC §2): what they grant and the presets.

The plan rule (write scopes need a paid plan) is ``accounts.permissions.plan_allows_scopes``.
"""

from __future__ import annotations

from collections.abc import Iterable

SCOPES: dict[str, str] = {
    "contacts:read": "Read CRM contacts",
    "contacts:write": "Create and update CRM contacts",
    "tickets:read": "Read support tickets",
    "tickets:write": "Create and update support tickets",
    "chat:read": "Read conversations",
    "chat:write": "Send messages into live chat sessions",
    "assistants:read": "List the workspace's assistants",
    "events:read": "Subscribe to workspace events (webhooks, Zapier)",
}
READ_ONLY = [s for s in SCOPES if s.endswith(":read")]
READ_WRITE = list(SCOPES)
PRESETS = {"read_only": READ_ONLY, "read_write": READ_WRITE}


def resource_of(scope: str) -> str:
    return scope.split(":", 1)[0]


def grouped_scopes() -> dict[str, list[tuple[str, str]]]:
    """Scopes by resource, for the checkbox groups on the settings page."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for scope, label in SCOPES.items():
        groups.setdefault(resource_of(scope), []).append((scope, label))
    return groups


def is_write(scope: str) -> bool:
    return scope.endswith(":write")


def grants(held: Iterable[str], required: str) -> bool:
    """Whether the held scopes grant ``required``; ``X:write`` implies ``X:read``."""
    held = set(held)
    if required in held:
        return True
    return required.endswith(":read") and f"{resource_of(required)}:write" in held


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - set(SCOPES))
