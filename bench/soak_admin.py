"""The soak's Django-side steps, each a short process with the servers' settings and environment.

    python -m bench.soak_admin setup --victims N   migrate, then make the workspace, keys and widget assistant
    python -m bench.soak_admin revoke KEY_ID       print "ready", wait for "go" on stdin, revoke, print, die
    python -m bench.soak_admin audit WORKSPACE_ID  what the database holds afterwards (request log drained first)

Everything goes through the services, as the app does it (``accounts.services``,
``apikeys.services``, ``assistants.services``). Each prints one JSON document.
``revoke`` runs with ``REDIS_URL`` pointing at the relay while it is cut off, and
exits at once: the revoker never reaches Redis, so only the invalidation outbox
(``apikeys.selectors._replay_invalidations``) can fence the key in the other processes.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from typing import Any

SITE = "https://shop.soak.example"
FAQ = [
    {"question": "What are your opening hours?", "answer": "Monday to Friday, 9:00 to 17:00."},
    {"question": "How do I get a refund?", "answer": "Reply to your order email within 30 days."},
    {"question": "Do you ship abroad?", "answer": "We ship to every country in the EU."},
]


def _django() -> None:
    import django

    django.setup()


def setup(victims: int) -> dict[str, Any]:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    from accounts.actors import Actor
    from accounts.models import Plan, User
    from accounts.services import workspace_create
    from apikeys.services import api_key_create
    from assistants.services import assistant_create

    owner = User.objects.create_user(email="soak-owner@example.com", password=secrets.token_urlsafe(24))
    workspace = workspace_create(name="Soak", owner=owner, plan=Plan.PRO)
    actor = Actor.for_user(owner)

    def key(name: str, scopes: list[str], **extra: Any) -> dict[str, Any]:
        made, plain = api_key_create(workspace=workspace, actor=actor, name=name, scopes=scopes, **extra)
        return {"id": made.pk, "plain": plain}

    assistant = assistant_create(
        workspace=workspace,
        actor=actor,
        name="Soak help center",
        visibility="workspace",
        widget_enabled=True,
        allowed_origins=[SITE],
        greeting="Hi! Ask me anything.",
        faq=FAQ,
    )
    return {
        "workspace": workspace.pk,
        "owner": owner.pk,
        "assistant": assistant.public_id,
        "origin": SITE,
        "questions": [entry["question"] for entry in FAQ],
        "keys": {
            "writer": key("soak writer", ["contacts:read", "contacts:write"]),
            "reader": key("soak reader", ["contacts:read"]),
            "events": key("soak events", ["events:read", "contacts:read"]),
            # A low limit of its own: its bursts must meet 429s (they are not errors).
            "burst": key("soak burst", ["contacts:read"], rate_limit="10/10s"),
            "victims": [key(f"soak victim {i}", ["contacts:read"]) for i in range(victims)],
        },
    }


def revoke(key_id: int) -> None:
    from accounts.actors import Actor
    from apikeys.models import ApiKey
    from apikeys.services import api_key_revoke

    key = ApiKey.objects.select_related("workspace").get(pk=key_id)  # connected to PostgreSQL before the cut
    owner = key.workspace.memberships.get(role="owner").user
    assert owner is not None
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        os._exit(3)
    started = time.time()
    api_key_revoke(key=key, actor=Actor.for_user(owner), via="soak", reason="bench/soak: revoked while Redis is cut")
    committed = time.time()  # api_key_revoke is atomic: it has committed when it returns
    print(json.dumps({"started": started, "committed": committed}), flush=True)
    # Die in the partition: the tombstone this process could not write to Redis goes with it.
    os._exit(0)


def drain_request_log(settle: float) -> None:
    """Store what the request log's stream still holds: wait until what a killed worker read
    can be taken over (``API_REQUEST_LOG_RECLAIM_SECONDS``), then drain until nothing is left."""
    from django.conf import settings

    from apikeys import usage

    time.sleep(settings.API_REQUEST_LOG_RECLAIM_SECONDS + settle)
    quiet = 0
    deadline = time.monotonic() + 60
    while quiet < 2 and time.monotonic() < deadline:
        quiet = quiet + 1 if usage.drain(consumer="soak-audit") == 0 else 0
        time.sleep(0.5)


def audit(workspace_id: int) -> dict[str, Any]:
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from apikeys.models import ApiKey, ApiRequestLog, IdempotencyRecord
    from core.models import Event
    from crm.models import Contact
    from webhooks.models import Delivery

    drain_request_log(settle=1.0)  # the servers' buffers hand off every 0.5 s
    contacts = list(Contact.objects.filter(workspace_id=workspace_id).values_list("public_id", "name", "email"))
    events = {
        pk: {"event": public_id, "contact": (data or {}).get("id"), "dispatched": dispatched is not None}
        for pk, public_id, data, dispatched in Event.objects.filter(
            workspace_id=workspace_id, type="contact.created"
        ).values_list("pk", "public_id", "data", "dispatched_at")
    }
    deliveries: dict[str, list[dict[str, Any]]] = {}
    for event_id, status, attempts, error in Delivery.objects.filter(event_id__in=list(events)).values_list(
        "event_id", "status", "attempts", "last_error"
    ):
        contact = str(events[event_id]["contact"])
        deliveries.setdefault(contact, []).append({"status": status, "attempts": attempts, "error": error[:200]})
    return {
        "contacts": [{"id": c[0], "name": c[1], "email": c[2]} for c in contacts],
        "events": list(events.values()),
        "deliveries": deliveries,
        "tasks": dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")),
        "claims_unanswered": IdempotencyRecord.objects.filter(status_code__isnull=True).count(),
        "request_log": list(
            ApiRequestLog.objects.filter(api_key__workspace_id=workspace_id).values_list("request_id", flat=True)
        ),
        "revoked": {
            str(pk): at.timestamp() if at else None
            for pk, at in ApiKey.objects.filter(workspace_id=workspace_id, revoked_at__isnull=False).values_list(
                "pk", "revoked_at"
            )
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup").add_argument("--victims", type=int, default=1)
    sub.add_parser("revoke").add_argument("key_id", type=int)
    sub.add_parser("audit").add_argument("workspace_id", type=int)
    args = parser.parse_args()
    _django()
    if args.command == "setup":
        print(json.dumps(setup(args.victims)))
    elif args.command == "revoke":
        revoke(args.key_id)
    else:
        print(json.dumps(audit(args.workspace_id)))


if __name__ == "__main__":
    main()
