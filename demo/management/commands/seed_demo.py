"""``manage.py seed_demo``: a demo workspace to click around in. Idempotent."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Plan, Role, User, Workspace
from accounts.services import workspace_create
from apikeys.models import ApiKey
from apikeys.services import create_key

DEMO_PASSWORD = "parley-demo-password"
PEOPLE = [
    ("owner@demo.parley.test", Role.OWNER),
    ("member@demo.parley.test", Role.MEMBER),
    ("guest@demo.parley.test", Role.GUEST),
]
DEMO_KEY_NAME = "Demo integration"


class Command(BaseCommand):
    help = "Create (once) a demo owner, a pro workspace, a member, a guest and a demo API key."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        users = {}
        for email, _role in PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email=email, password=DEMO_PASSWORD, name=email.split("@")[0].title())
            EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            users[email] = user
        owner = users[PEOPLE[0][0]]
        workspace = Workspace.objects.filter(slug="demo").first()
        if workspace is None:
            workspace = workspace_create(name="Demo Co", owner=owner, plan=Plan.PRO)
            workspace.slug = "demo"
            workspace.save(update_fields=["slug"])
        for email, role in PEOPLE[1:]:
            Membership.objects.get_or_create(
                workspace=workspace, user=users[email], defaults={"role": role, "status": Membership.Status.ACTIVE}
            )

        self.stdout.write(self.style.SUCCESS("Demo workspace 'Demo Co' (pro plan) is ready."))
        self.stdout.write(f"  Log in at /accounts/login/ with password {DEMO_PASSWORD!r} as:")
        for email, role in PEOPLE:
            self.stdout.write(f"    {email:<28} {role}")
        if ApiKey.objects.filter(workspace=workspace, name=DEMO_KEY_NAME).exists():
            self.stdout.write("  The demo API key exists already (shown only when it was created).")
            return
        _key, plain = create_key(
            workspace=workspace,
            actor=owner,
            name=DEMO_KEY_NAME,
            scopes=["contacts:read", "contacts:write", "tickets:read", "assistants:read", "events:read"],
        )
        self.stdout.write("  Demo secret API key (shown once, store it now):")
        self.stdout.write(f"    {plain}")
        self.stdout.write("  Try: curl -H 'Authorization: Bearer <key>' http://127.0.0.1:8000/api/v1/me")
