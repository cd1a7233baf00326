"""The key list's row actions, roll-once, and keys a downgrade left with scopes that need Pro."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from accounts.actors import Actor
from accounts.models import Plan, Role
from accounts.services import workspace_update
from apikeys.models import ApiKey
from apikeys.services import api_key_roll
from core.errors import Conflict
from tests import factories
from tests.apikeys.test_pages import LIST, PLAIN_KEY, detail_url, form_token, logged_in, revoke_url, roll_url

pytestmark = pytest.mark.django_db
PLAN = "/settings/plan/"


def row_of(html: str, key: ApiKey) -> str:
    """The list's table row of ``key``."""
    for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S):
        if key.hint in row:
            return row
    raise AssertionError(f"no row for {key.hint}")


def test_each_active_row_links_to_roll_and_revoke_and_both_work_without_javascript(owner, workspace):
    key, plain = factories.make_key(workspace, name="Billing sync")
    client = logged_in(owner)
    row = row_of(client.get(LIST).content.decode(), key)
    assert f'href="{roll_url(key)}"' in row
    assert f'href="{revoke_url(key)}"' in row
    assert "Roll…" in row
    assert "Revoke…" in row

    # Roll… is a plain link to the confirmation page, then a plain form post.
    rolled = client.post(roll_url(key), {"grace": "1h", "form_token": form_token(client, roll_url(key))})
    assert rolled.status_code == 201
    successor = ApiKey.objects.get(rolled_from=key)
    assert PLAIN_KEY.search(rolled.content.decode()).group(0) != plain

    # Revoke… likewise, on the successor's row.
    assert f'href="{revoke_url(successor)}"' in row_of(client.get(LIST).content.decode(), successor)
    assert client.get(revoke_url(successor)).status_code == 200
    assert client.post(revoke_url(successor)).status_code == 302
    successor.refresh_from_db()
    assert successor.is_revoked


def test_retired_rows_offer_no_roll_or_revoke(owner, workspace):
    key, _ = factories.make_key(workspace)
    client = logged_in(owner)
    client.post(revoke_url(key))
    assert f'href="{roll_url(key)}"' not in client.get(LIST).content.decode()


def test_a_key_is_rolled_once_the_second_roll_links_to_its_successor(owner, workspace):
    key, _ = factories.make_key(workspace)
    successor, _ = api_key_roll(key=key, actor=Actor.for_user(owner), grace=timedelta(hours=1))
    with pytest.raises(Conflict) as refused:
        api_key_roll(key=key, actor=Actor.for_user(owner))
    assert refused.value.extra == {"successor_id": successor.pk}

    client = logged_in(owner)
    page = client.get(roll_url(key))
    html = page.content.decode()
    assert page.status_code == 200
    assert "was already rolled" in html
    assert f'href="{detail_url(successor)}"' in html
    assert f'href="{roll_url(successor)}"' in html
    assert 'name="grace"' not in html  # no form to roll it again

    # A form opened before the first roll and posted after it (two tabs) is refused with the link too.
    response = client.post(roll_url(key), {"grace": "now", "form_token": form_token(client, roll_url(successor))})
    assert response.status_code == 409
    assert "This key was already rolled." in response.content.decode()
    assert ApiKey.objects.filter(rolled_from=key).count() == 1


def test_after_a_downgrade_write_scopes_are_marked_needs_pro_with_an_upgrade_link(owner, workspace):
    writer, _ = factories.make_key(workspace, name="Writer", scopes=["contacts:read", "tickets:write"])
    reader, _ = factories.make_key(workspace, name="Reader", scopes=["contacts:read"])
    workspace_update(workspace=workspace, actor=Actor.system("Support"), plan=Plan.FREE)
    client = logged_in(owner)
    html = client.get(LIST).content.decode()
    writer_row, reader_row = row_of(html, writer), row_of(html, reader)
    assert re.search(r"tickets:write <span class=\"chip-note\">needs Pro</span>", writer_row)
    assert "contacts:read <span" not in writer_row
    assert f'href="{PLAN}"' in writer_row
    assert "needs Pro" not in reader_row
    assert f'href="{PLAN}"' not in reader_row
    detail = client.get(detail_url(writer)).content.decode()
    assert "needs Pro" in detail
    assert "plan_upgrade_required" in detail


def test_on_pro_nothing_needs_pro(owner, workspace):
    factories.make_key(workspace, scopes=["tickets:write"])
    assert "needs Pro" not in logged_in(owner).get(LIST).content.decode()


def test_the_plan_page_tells_owners_how_to_upgrade(owner, free_workspace):
    owner = factories.owner_of(free_workspace)
    response = logged_in(owner).get(PLAN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Free" in html
    assert "mailto:support@parley.local" in html


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER])
def test_others_are_sent_to_the_owners_for_the_plan(workspace, role):
    user = factories.add_member(workspace, role)
    response = logged_in(user).get(PLAN)
    html = response.content.decode()
    assert response.status_code == 403
    assert "Only workspace owners can see the plan and upgrade it." in html
    assert factories.owner_of(workspace).email in html
