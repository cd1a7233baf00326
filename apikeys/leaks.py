"""Leaked keys revoke themselves: what Parley does with a key a scanner found in public.

``api_key_leak_report`` takes one reported string. A live Parley key is revoked at
once (``api_key_revoke``: every worker refuses it from the next request on), the
audit event names the reporter and where the key was found, and after commit the
workspace's owners and admins are e-mailed: where it was found, what was revoked and
how to replace it. A key that was already revoked changes nothing more — so a
replayed report sends no second e-mail. Anything else (not a Parley key, a key
Parley does not know, an expired key) is a false positive and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.actors import Actor
from accounts.mail import workspace_managers_email
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeakOutcome:
    """``true_positive``: a Parley key, revoked now (``revoked``) or before; else a false positive."""

    true_positive: bool
    revoked: bool = False

    @property
    def label(self) -> str:
        return "true_positive" if self.true_positive else "false_positive"


def api_key_leak_report(
    *, token: str, url: str, source: str, reporter: str, actor: Actor, via: str, base_url: str
) -> LeakOutcome:
    """Handle one string ``reporter`` found at ``url`` (in ``source``); see the module's docstring.

    ``base_url`` (``https://host``) makes the links of the e-mail.
    """
    if keys.kind_of(token) is None:  # not a Parley key: no query
        return LeakOutcome(true_positive=False)
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(digest=keys.digest(token)).first()
        if key is None:
            return LeakOutcome(true_positive=False)
        if key.is_revoked:
            return LeakOutcome(true_positive=True)
        if key.is_expired:
            return LeakOutcome(true_positive=False)
        api_key_revoke(
            key=key,
            actor=actor,
            via=via,
            reason=f"Found in public by {reporter}" + (f" at {url}" if url else ""),
            details={"found_at": url, "source": source, "reported_by": reporter},
        )
        transaction.on_commit(
            partial(_notify, key_id=key.pk, url=url, source=source, reporter=reporter, base_url=base_url),
            robust=True,
        )
    return LeakOutcome(true_positive=True, revoked=True)


def _notify(*, key_id: int, url: str, source: str, reporter: str, base_url: str) -> None:
    """E-mail the key's workspace's owners and admins (after commit: only for a revocation that happened)."""
    key = ApiKey.objects.select_related("workspace", "created_by").get(pk=key_id)
    context = {
        "key": key,
        "workspace": key.workspace,
        "reporter": reporter,
        "url": url,
        "source": source,
        "revoked_at": key.revoked_at,
        "key_url": base_url + reverse("apikeys:detail", args=[key.pk]),
        "create_url": base_url + reverse("apikeys:create"),
        "audit_url": base_url + reverse("audit-log"),
    }
    subject = f'[Parley] API key "{key.name}" ({key.hint}) was found in public and revoked'
    try:
        workspace_managers_email(
            workspace=key.workspace, subject=subject, body=render_to_string("apikeys/email/key_leaked.txt", context)
        )
    except Exception:  # the revocation stands: a mail server's failure must not undo or hide it
        logger.exception("The e-mail about leaked key %s could not be sent", key.hint)
