"""``Actor``: who does a write — a person, an API key, a widget visitor, or Parley itself.

Every service takes ``actor=`` and the audit log records it, so no app invents its
own notion of "who". An API key or a visitor is named by id and label only: this
module sits below the apps that own those models.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.http import HttpRequest

from accounts.models import User
from core.net import client_ip


class ActorKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    VISITOR = "visitor"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    label: str
    user: User | None = None
    # The API key's or the visitor's id; empty for users and the system.
    ref: str = ""
    ip: str | None = None

    @classmethod
    def for_user(cls, user: User, *, ip: str | None = None) -> Actor:
        return cls(kind=ActorKind.USER, label=user.email, user=user, ip=ip)

    @classmethod
    def for_request(cls, request: HttpRequest) -> Actor:
        """The signed-in user of a page or in-app API request, with the client IP."""
        return cls.for_user(request.user, ip=client_ip(request))  # type: ignore[arg-type]  # views require login

    @classmethod
    def for_api_key(cls, *, key_id: int, hint: str, ip: str | None = None) -> Actor:
        return cls(kind=ActorKind.API_KEY, label=f"API key {hint}", ref=str(key_id), ip=ip)

    @classmethod
    def for_visitor(cls, *, visitor_id: str, ip: str | None = None) -> Actor:
        return cls(kind=ActorKind.VISITOR, label=f"Visitor {visitor_id}", ref=visitor_id, ip=ip)

    @classmethod
    def system(cls, label: str) -> Actor:
        """Parley itself, e.g. a scheduled task or a scanner's report; ``label`` says which."""
        return cls(kind=ActorKind.SYSTEM, label=label)
