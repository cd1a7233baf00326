"""E-mail to the people who look after a workspace: its active owners and admins.

Sent through Django's e-mail backend (``DJANGO_EMAIL_BACKEND``; the console backend
in development, so the messages appear in the server's output), one message per
person, so no one sees the others' addresses.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from accounts.models import Role, Workspace
from accounts.selectors import workspace_managers


def one_line(text: str) -> str:
    """``text`` fit for a header such as the subject: no line breaks (a key's name may hold any)."""
    return " ".join(text.split())


def workspace_managers_email(*, workspace: Workspace, subject: str, body: str, owners_only: bool = False) -> list[str]:
    """Send ``subject`` / ``body`` (plain text) to each active owner and admin (or owner); returns the addresses."""
    recipients = [
        m.user.email
        for m in workspace_managers(workspace)
        if m.user is not None and m.user.email and (m.role == Role.OWNER or not owners_only)
    ]
    messages = [
        EmailMessage(subject=one_line(subject), body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address])
        for address in recipients
    ]
    if messages:
        with get_connection() as connection:
            connection.send_messages(messages)
    return recipients
