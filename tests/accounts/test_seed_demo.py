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
    assert User.objects.count() == 4
    assert {m.role for m in Membership.objects.filter(workspace=workspace)} == {"owner", "member", "guest"}
    assert ApiKey.objects.count() == 1


@pytest.mark.parametrize(
    ("port", "url"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("8123", "http://127.0.0.1:8123"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000"),
    ],
)
def test_seed_demo_prints_the_address_it_is_served_on(capsys, monkeypatch, port, url):
    monkeypatch.setenv("PORT", port)
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert f"{url}/accounts/login/" in out
    assert f"{url}/api/v1/me" in out
    assert "127.0.0.1:8000" not in out or url.endswith(":8000")


def test_seed_demo_names_the_plan_the_workspace_really_has(capsys):
    call_command("seed_demo")
    Workspace.objects.filter(slug="demo").update(plan="free")
    capsys.readouterr()
    call_command("seed_demo")
    assert "(free plan)" in capsys.readouterr().out


def test_seed_demo_support_login_reaches_the_admin(client, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "support@demo.parley.test" in out
    assert "/admin/" in out
    assert client.login(email="support@demo.parley.test", password="parley-demo-password")
    response = client.get("/admin/apikeys/apikey/")
    assert response.status_code == 200
    assert "Demo integration" in response.content.decode()
    assert "Help center" in client.get("/admin/assistants/assistant/").content.decode()  # viewed, not changed
    # support staff revoke keys but do not change plans
    assert client.get("/admin/accounts/workspace/").status_code == 200
    assert (
        b'name="plan"'
        not in client.get(f"/admin/accounts/workspace/{Workspace.objects.get(slug='demo').pk}/change/").content
    )


def test_seed_demo_makes_three_assistants_once_and_prints_no_secret(capsys):
    from accounts.models import AuditEvent
    from assistants.models import Assistant, AssistantGrant, FaqEntry

    call_command("seed_demo")
    first = capsys.readouterr().out
    workspace = Workspace.objects.get(slug="demo")
    assistants = {a.name: a for a in Assistant.objects.filter(workspace=workspace)}
    assert {name: a.visibility for name, a in assistants.items()} == {
        "Help center": "public",
        "Sales handbook": "workspace",
        "Owner's drafts": "private",
    }
    help_center = assistants["Help center"]
    assert help_center.widget_enabled
    assert help_center.greeting
    assert 3 <= help_center.faq_entries.count() <= 4
    questions = " ".join(help_center.faq_entries.values_list("question", flat=True)).lower()
    for topic in ("opening hours", "refund", "shipping"):
        assert topic in questions
    assert assistants["Sales handbook"].faq_entries.exists()
    drafts = assistants["Owner's drafts"]
    assert drafts.created_by.email == "owner@demo.parley.test"
    assert [g.user.email for g in drafts.grants.all()] == ["member@demo.parley.test"]
    assert "Demo assistants: Help center (public), Sales handbook (workspace), Owner's drafts (private" in first
    assert AuditEvent.objects.filter(action="assistant.created").count() == 3  # made through the service

    counts = (Assistant.objects.count(), FaqEntry.objects.count(), AssistantGrant.objects.count())
    events = AuditEvent.objects.count()
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert (Assistant.objects.count(), FaqEntry.objects.count(), AssistantGrant.objects.count()) == counts
    assert AuditEvent.objects.count() == events
    assert "Demo assistants: Help center" in second

    assert not any(a.has_identity_secret or a.has_twilio_auth_token for a in assistants.values())
    for out in (first, second):
        assert "identity" not in out.lower()
        assert "token" not in out.lower()
    secret_lines = [line for line in first.splitlines() if "secret" in line.lower()]
    assert secret_lines == ["  Demo secret API key (shown once, store it now):"]  # printed before too
    assert "secret" not in second.lower()
