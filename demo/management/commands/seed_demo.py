"""``manage.py seed_demo``: a demo workspace to click around in. Idempotent."""

from __future__ import annotations

import os
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.actors import Actor
from accounts.models import Membership, Plan, Role, User, Workspace
from accounts.permissions import SUPPORT_GROUP
from accounts.services import workspace_create
from apikeys.models import ApiKey
from apikeys.services import api_key_create
from assistants.models import Assistant
from assistants.services import assistant_create, assistant_grant_add

DEMO_PASSWORD = "parley-demo-password"  # noqa: S105  (the demo logins' published password, printed by the seed)
PEOPLE = [
    ("owner@demo.parley.test", Role.OWNER),
    ("member@demo.parley.test", Role.MEMBER),
    ("guest@demo.parley.test", Role.GUEST),
]
SUPPORT_EMAIL = "support@demo.parley.test"
DEMO_KEY_NAME = "Demo integration"
# name → what assistant_create takes; made by the owner, once each.
ASSISTANTS: dict[str, dict[str, Any]] = {
    "Help center": {
        "visibility": Assistant.Visibility.PUBLIC,
        "widget_enabled": True,
        "lead_capture": True,
        "greeting": "Hi! Ask me about our opening hours, refunds or shipping.",
        "faq": [
            {"question": "What are your opening hours?", "answer": "Monday to Friday, 9:00 to 17:00 (CET)."},
            {"question": "How do I get a refund?", "answer": "Reply to your order email within 30 days of delivery."},
            {"question": "How long does shipping take?", "answer": "2–4 working days in the EU, 5–10 elsewhere."},
            {"question": "Do you ship internationally?", "answer": "Yes, to most countries; see the checkout page."},
        ],
    },
    "Sales handbook": {
        "visibility": Assistant.Visibility.WORKSPACE,
        "faq": [
            {"question": "What discount may I offer?", "answer": "Up to 10 %; more needs the owner's approval."},
            {"question": "Who signs contracts?", "answer": "The owner signs every contract over 10,000 EUR."},
        ],
    },
    "Owner's drafts": {"visibility": Assistant.Visibility.PRIVATE},
}
SHARED_WITH = "member@demo.parley.test"  # the private assistant is granted to the demo member


def base_url(addr: str) -> str:
    """``8001`` or ``0.0.0.0:8001`` (runserver's forms, as ``./dev serve`` takes ``PORT``) → a URL to open."""
    host, _, port = addr.rpartition(":")
    if host in {"", "0.0.0.0", "[::]"}:  # noqa: S104  # a bind-all address is opened as loopback
        host = "127.0.0.1"
    return f"http://{host}:{port or '8000'}"


def _label(name: str, spec: dict[str, Any]) -> str:
    shared = f", shared with {SHARED_WITH}" if spec["visibility"] == Assistant.Visibility.PRIVATE else ""
    return f"{name} ({spec['visibility']}{shared})"


class Command(BaseCommand):
    help = (
        "Create (once) a demo owner, a pro workspace, a member, a guest, a support-staff login, "
        "three assistants and a demo API key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--addr",
            default=os.environ.get("PORT", "127.0.0.1:8000"),
            help="the address the server listens on, for the URLs printed (default: $PORT or 127.0.0.1:8000)",
        )

    @transaction.atomic
    def handle(self, *args: Any, addr: str, **options: Any) -> None:
        url = base_url(addr)
        users = {email: self._user(email) for email, _role in PEOPLE}
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
        support = self._user(SUPPORT_EMAIL)
        if not support.is_staff:
            support.is_staff = True
            support.save(update_fields=["is_staff"])
        support.groups.add(Group.objects.get(name=SUPPORT_GROUP))
        self._assistants(workspace, owner, users[SHARED_WITH])

        self.stdout.write(self.style.SUCCESS(f"Demo workspace '{workspace.name}' ({workspace.plan} plan) is ready."))
        self.stdout.write(f"  Log in at {url}/accounts/login/ with password {DEMO_PASSWORD!r} as:")
        for email, role in PEOPLE:
            self.stdout.write(f"    {email:<28} {role}")
        self.stdout.write(f"  Support staff: {url}/admin/ as {SUPPORT_EMAIL} (same password; the Support group)")
        self.stdout.write(f"  Demo assistants: {', '.join(_label(name, spec) for name, spec in ASSISTANTS.items())}")
        self.stdout.write(f"  Chat widget demo (the Help center assistant): {url}/widget/demo/")
        if ApiKey.objects.filter(workspace=workspace, name=DEMO_KEY_NAME).exists():
            self.stdout.write("  The demo API key exists already (shown only when it was created).")
            return
        _key, plain = api_key_create(
            workspace=workspace,
            actor=Actor.for_user(owner),
            name=DEMO_KEY_NAME,
            scopes=["contacts:read", "contacts:write", "tickets:read", "assistants:read", "events:read"],
        )
        self.stdout.write("  Demo secret API key (shown once, store it now):")
        self.stdout.write(f"    {plain}")
        self.stdout.write(f"  Try: curl -H 'Authorization: Bearer <key>' {url}/api/v1/me")

    @staticmethod
    def _assistants(workspace: Workspace, owner: User, member: User) -> None:
        """The demo's assistants, through the service as the owner would make them; none twice."""
        actor = Actor.for_user(owner)
        existing = set(Assistant.objects.filter(workspace=workspace).values_list("name", flat=True))
        for name, spec in ASSISTANTS.items():
            if name in existing:
                continue
            assistant = assistant_create(workspace=workspace, actor=actor, name=name, **spec)
            if assistant.visibility == Assistant.Visibility.PRIVATE:
                assistant_grant_add(assistant=assistant, actor=actor, user_id=member.pk)

    @staticmethod
    def _user(email: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, name=email.split("@")[0].title())
        EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        return user
