import pytest
from django.core.management import call_command

from accounts.models import Membership, User, Workspace
from apikeys.models import ApiKey

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_credentials_and_key_once(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert "owner@demo.parley.test" in first
    assert "parley-demo-password" in first
    assert "wsk_live_" in first
    assert "wsk_live_" not in second  # shown once
    workspace = Workspace.objects.get(slug="demo")
    assert workspace.plan == "pro"
    assert User.objects.count() == 3
    assert {m.role for m in Membership.objects.filter(workspace=workspace)} == {"owner", "member", "guest"}
    assert ApiKey.objects.count() == 1
