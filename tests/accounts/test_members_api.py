"""Members and the workspace in the in-app API (SPEC §1): who may list, change, suspend and
remove members, see billing and delete the workspace; what the client sees and what is left after."""

import re

import pytest
from django.test import Client

from accounts.actors import Actor
from accounts.models import AuditEvent, Membership, Plan, Role, Workspace
from accounts.selectors import SESSION_WORKSPACE_KEY
from accounts.services import LastOwner, membership_change_role, membership_remove, membership_update
from apikeys.cache import key_cache
from apikeys.models import ApiKey
from core.serializers import UNKNOWN_FIELD
from tests import factories

pytestmark = pytest.mark.django_db

OW, A, M, G = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.GUEST
ACTIVE, INVITED, SUSPENDED = Membership.Status.ACTIVE, Membership.Status.INVITED, Membership.Status.SUSPENDED


def patch(client, membership_id, body):
    return client.patch(f"/api/members/{membership_id}", body, content_type="application/json")


def delete(client, membership_id):
    return client.delete(f"/api/members/{membership_id}")


def delete_workspace(client, body):
    return client.delete("/api/workspace", body, content_type="application/json")


def membership(workspace, user):
    return Membership.objects.get(workspace=workspace, user=user)


def error(response):
    body = response.json()["error"]
    assert body["request_id"] == response["X-Request-Id"]
    return body


# --- The member role rules, as one table -------------------------------------------------
#
# Each row: the actor's role, the target ("self" is the actor's own membership), and
# the answer to each action. The workspace always has one more owner besides these
# two, so the last-owner rule (tested below) never decides here.

OK = "ok"
NOT_MANAGER = "403: only owners and admins manage members"
OWNER_ONLY = "403: only owners touch the owner role"
SELF = "403: nobody changes or removes themselves"

ACTIONS = ("to owner", "to admin", "to member", "to guest", "suspend", "remove")
BODIES = {
    "to owner": {"role": "owner"},
    "to admin": {"role": "admin"},
    "to member": {"role": "member"},
    "to guest": {"role": "guest"},
    "suspend": {"status": "suspended"},
}
# fmt: off
RULES = {
    # actor, target      to owner     to admin     to member    to guest     suspend      remove
    (OW, OW):           (OK,          OK,          OK,          OK,          OK,          OK),
    (OW, A):            (OK,          OK,          OK,          OK,          OK,          OK),
    (OW, M):            (OK,          OK,          OK,          OK,          OK,          OK),
    (OW, G):            (OK,          OK,          OK,          OK,          OK,          OK),
    (OW, "self"):       (SELF,        SELF,        SELF,        SELF,        SELF,        SELF),
    (A, OW):            (OWNER_ONLY,  OWNER_ONLY,  OWNER_ONLY,  OWNER_ONLY,  OWNER_ONLY,  OWNER_ONLY),
    (A, A):             (OWNER_ONLY,  OK,          OK,          OK,          OK,          OK),
    (A, M):             (OWNER_ONLY,  OK,          OK,          OK,          OK,          OK),
    (A, G):             (OWNER_ONLY,  OK,          OK,          OK,          OK,          OK),
    (A, "self"):        (OWNER_ONLY,  SELF,        SELF,        SELF,        SELF,        SELF),
    (M, OW):            (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
    (M, A):             (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
    (M, M):             (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
    (M, G):             (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
    (M, "self"):        (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
    (G, OW):            (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
    (G, A):             (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
    (G, M):             (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
    (G, G):             (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
    (G, "self"):        (NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER, NOT_MANAGER),
}
# fmt: on
MEMBER_EVENTS = ["member.role_changed", "member.status_changed", "member.removed"]
MESSAGES = {
    NOT_MANAGER: "Only workspace owners and admins can invite and manage members.",
    OWNER_ONLY: "Only owners can grant, change or remove the owner role.",
    SELF: "You cannot change your own role or status.",
}
CASES = [
    pytest.param(actor, target, action, outcome, id=f"{actor}-{target}-{action.replace(' ', '_')}")
    for (actor, target), outcomes in RULES.items()
    for action, outcome in zip(ACTIONS, outcomes, strict=True)
]


def test_the_rules_table_covers_every_actor_target_and_action():
    assert set(RULES) == {(actor, target) for actor in Role for target in [*Role, "self"]}
    assert all(len(outcomes) == len(ACTIONS) for outcomes in RULES.values())


@pytest.mark.parametrize(("actor_role", "target_role", "action", "outcome"), CASES)
def test_member_role_rules(client, actor_role, target_role, action, outcome):
    workspace = factories.make_workspace()  # its creator is the extra owner
    actor = factories.add_member(workspace, actor_role)
    target_user = actor if target_role == "self" else factories.add_member(workspace, target_role)
    target = membership(workspace, target_user)
    before = (target.role, target.status)
    client.force_login(actor)

    response = delete(client, target.pk) if action == "remove" else patch(client, target.pk, BODIES[action])

    if outcome == OK:
        assert response.status_code == (204 if action == "remove" else 200), response.content
        if action == "remove":
            assert not Membership.objects.filter(pk=target.pk).exists()
        else:
            target.refresh_from_db()
            expected = BODIES[action].get("role", before[0]), BODIES[action].get("status", before[1])
            assert (target.role, target.status) == expected
            assert (response.json()["role"], response.json()["status"]) == expected
        changed = action == "remove" or (target.role, target.status) != before
        assert AuditEvent.objects.filter(action__in=MEMBER_EVENTS, target_id=str(target.pk)).exists() is changed
        return
    assert response.status_code == 403
    body = error(response)
    assert body["code"] == "permission_denied"
    if outcome == SELF and action == "remove":
        assert body["message"] == "You cannot remove yourself here."
    else:
        assert body["message"] == MESSAGES[outcome]
    assert body["hint"]
    target.refresh_from_db()
    assert (target.role, target.status) == before
    assert not AuditEvent.objects.filter(action__in=MEMBER_EVENTS).exists()


# --- A workspace always keeps an active owner ---------------------------------------------


@pytest.mark.parametrize(
    ("request_", "body"),
    [
        ("patch", {"role": "admin"}),
        ("patch", {"role": "guest", "status": "suspended"}),
        ("patch", {"status": "suspended"}),
        ("delete", None),
    ],
)
def test_the_last_active_owner_cannot_be_demoted_suspended_or_removed(client, workspace, owner, request_, body):
    # A suspended owner and an invited owner do not count: neither can act.
    factories.add_member(workspace, OW, status=SUSPENDED)
    Membership.objects.create(workspace=workspace, invited_email="later@example.com", role=OW, status=INVITED)
    own = membership(workspace, owner)
    client.force_login(owner)
    response = patch(client, own.pk, body) if request_ == "patch" else delete(client, own.pk)
    assert response.status_code == 409
    assert error(response) | {"request_id": ""} == {
        "code": "conflict",
        "message": "A workspace always keeps at least one active owner.",
        "hint": "Make another member an owner first.",
        "request_id": "",
    }
    own.refresh_from_db()
    assert (own.role, own.status) == (OW, ACTIVE)


def test_with_a_second_owner_the_self_rule_answers_instead(client, workspace, owner):
    second = factories.add_member(workspace, OW)
    client.force_login(owner)
    response = patch(client, membership(workspace, owner).pk, {"role": "admin"})
    assert response.status_code == 403
    assert error(response)["hint"] == "Ask another owner or admin of this workspace to do it."
    # The other owner may demote this one: one active owner is left.
    client.force_login(second)
    assert patch(client, membership(workspace, owner).pk, {"role": "admin"}).status_code == 200
    assert list(workspace.memberships.filter(role=OW, status=ACTIVE).values_list("user", flat=True)) == [second.pk]


@pytest.mark.parametrize(
    "change",
    [
        lambda m, actor: membership_update(membership=m, actor=actor, role=Role.ADMIN),
        lambda m, actor: membership_update(membership=m, actor=actor, status=SUSPENDED),
        lambda m, actor: membership_change_role(membership=m, actor=actor, role=Role.MEMBER),
        lambda m, actor: membership_remove(membership=m, actor=actor),
    ],
    ids=["demote", "suspend", "change_role", "remove"],
)
def test_the_services_keep_an_active_owner_even_for_parley_itself(workspace, owner, change):
    """The rule is on the data: a system actor, refused nothing else, is refused this."""
    own = membership(workspace, owner)
    with pytest.raises(LastOwner):
        change(own, Actor.system("support script"))
    own.refresh_from_db()
    assert (own.role, own.status) == (OW, ACTIVE)


# --- Roles and status are read on every request -------------------------------------------


def test_a_change_counts_from_the_members_next_request(workspace, owner):
    admin, member = factories.add_member(workspace, A), factories.add_member(workspace, M)
    guest = factories.add_member(workspace, G)
    owner_client, admin_client, member_client = Client(), Client(), Client()
    owner_client.force_login(owner)
    admin_client.force_login(admin)
    member_client.force_login(member)
    assert patch(admin_client, membership(workspace, guest).pk, {"role": "member"}).status_code == 200

    assert patch(owner_client, membership(workspace, admin).pk, {"role": "member"}).status_code == 200
    assert patch(admin_client, membership(workspace, guest).pk, {"role": "guest"}).status_code == 403
    assert patch(owner_client, membership(workspace, member).pk, {"role": "admin"}).status_code == 200
    assert patch(member_client, membership(workspace, guest).pk, {"role": "guest"}).status_code == 200

    assert member_client.get("/api/members").status_code == 200
    assert patch(owner_client, membership(workspace, member).pk, {"status": "suspended"}).status_code == 200
    assert member_client.get("/api/members").status_code == 403
    assert patch(owner_client, membership(workspace, member).pk, {"status": "active"}).status_code == 200
    assert member_client.get("/api/members").status_code == 200


# --- Suspended members are not members ------------------------------------------------------

SUSPENDED_REQUESTS = [
    ("get", "/api/members", None),
    ("patch", "/api/members/{target}", {"role": "guest"}),
    ("delete", "/api/members/{target}", None),
    ("post", "/api/members/invite", {"email": "new@example.com"}),
    ("get", "/api/workspace/billing", None),
    ("delete", "/api/workspace", {"confirm": "{name}"}),
]


def _send(client, method, path, body, workspace, target, **headers):
    path = path.format(target=target.pk)
    if body is None:
        return getattr(client, method)(path, **headers)
    body = {k: v.format(name=workspace.name) for k, v in body.items()}
    return getattr(client, method)(path, body, content_type="application/json", **headers)


@pytest.mark.parametrize("role", [OW, A])
@pytest.mark.parametrize(("method", "path", "body"), SUSPENDED_REQUESTS)
def test_a_suspended_member_is_refused_everything(client, workspace, role, method, path, body):
    user = factories.add_member(workspace, role)  # the workspace's creator stays its active owner
    target = membership(workspace, factories.add_member(workspace, M))
    client.force_login(user)
    membership_update(membership=membership(workspace, user), actor=Actor.system("test"), status=SUSPENDED)
    response = _send(client, method, path, body, workspace, target)
    assert response.status_code == 403
    assert error(response) | {"request_id": ""} == {
        "code": "permission_denied",
        "message": "You are not an active member of a workspace.",
        "hint": "Ask an owner or admin to invite you, or to reactivate your membership.",
        "request_id": "",
    }
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    target.refresh_from_db()
    assert target.role == M
    assert not Membership.objects.filter(invited_email="new@example.com").exists()


def test_suspended_in_one_workspace_a_user_acts_only_in_their_others(client, workspace):
    user = factories.add_member(workspace, A)
    personal = factories.make_workspace(owner=user, name="Personal")
    target = membership(workspace, factories.add_member(workspace, M))
    client.force_login(user)
    client.post(f"/api/workspaces/{workspace.pk}/switch")
    membership_update(membership=membership(workspace, user), actor=Actor.system("test"), status=SUSPENDED)

    assert patch(client, target.pk, {"role": "guest"}).status_code == 404
    assert delete(client, target.pk).status_code == 404
    listed = client.get("/api/members").json()["results"]
    assert [m["email"] for m in listed] == [user.email]  # the personal workspace's members
    assert client.get("/api/workspace/billing").json()["workspace"]["id"] == personal.pk
    assert delete_workspace(client, {"confirm": workspace.name}).status_code == 400
    assert Workspace.objects.filter(pk__in=[workspace.pk, personal.pk]).count() == 2
    assert membership(workspace, target.user).role == M


# --- Ids of other workspaces are unknown ids --------------------------------------------


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_another_workspaces_membership_is_404_exactly_like_an_unknown_id(client, workspace, owner, method):
    other = factories.make_workspace()
    theirs = membership(other, factories.add_member(other, M))
    client.force_login(owner)

    def send(membership_id):
        return patch(client, membership_id, {"role": "guest"}) if method == "patch" else delete(client, membership_id)

    foreign, unknown = send(theirs.pk), send(999_999)
    assert foreign.status_code == unknown.status_code == 404
    foreign_error, unknown_error = error(foreign), error(unknown)
    del foreign_error["request_id"], unknown_error["request_id"]
    assert (
        foreign_error == unknown_error == {"code": "not_found", "message": "No member with that id in this workspace."}
    )
    theirs.refresh_from_db()
    assert theirs.role == M


def test_members_and_guests_are_refused_before_any_lookup(client, workspace):
    """A 403 whatever the id: a role that may not change members learns nothing about ids."""
    guest = factories.add_member(workspace, G)
    client.force_login(guest)
    assert patch(client, 999_999, {"role": "guest"}).status_code == 403
    assert delete(client, membership(workspace, guest).pk).status_code == 403


# --- Validation: unknown fields and bad values ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"role": "superuser"}, {"role": ['"superuser" is not a valid choice.']}),
        ({"role": None}, {"role": ["This field may not be null."]}),
        ({"status": "invited"}, {"status": ['"invited" is not a valid choice.']}),
        ({"status": "deleted"}, {"status": ['"deleted" is not a valid choice.']}),
        ({"rol": "admin"}, {"rol": [UNKNOWN_FIELD]}),
        ({"role": "admin", "workspace": 2, "user": 5}, {"workspace": [UNKNOWN_FIELD], "user": [UNKNOWN_FIELD]}),
        ({"role": "nope", "invited_by": 1}, {"role": ['"nope" is not a valid choice.'], "invited_by": [UNKNOWN_FIELD]}),
        ({}, {"non_field_errors": ["Send role, status or both."]}),
        (["admin"], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ],
)
def test_patch_refuses_unknown_fields_and_bad_values(client, workspace, owner, body, fields):
    target = membership(workspace, factories.add_member(workspace, M))
    client.force_login(owner)
    response = patch(client, target.pk, body)
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_request"
    assert error(response)["fields"] == fields
    target.refresh_from_db()
    assert (target.role, target.status) == (M, ACTIVE)
    assert not AuditEvent.objects.filter(action__in=["member.role_changed", "member.status_changed"]).exists()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/members/invite", {"email": "new@example.com", "workspace": 1}, "workspace"),
        ("/api/members/invite", {"email": "new@example.com", "status": "active"}, "status"),
    ],
)
def test_invite_refuses_unknown_fields(client, workspace, owner, path, body, field):
    client.force_login(owner)
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400
    assert error(response)["fields"] == {field: [UNKNOWN_FIELD]}
    assert not Membership.objects.filter(invited_email="new@example.com").exists()


def test_an_invitation_has_a_role_to_change_but_no_status(client, workspace, owner):
    client.force_login(owner)
    invited = client.post("/api/members/invite", {"email": "new@example.com"}, content_type="application/json")
    invitation_id = invited.json()["id"]
    assert patch(client, invitation_id, {"role": "admin"}).json()["role"] == "admin"
    response = patch(client, invitation_id, {"status": "active"})
    assert response.status_code == 409
    assert error(response)["hint"] == "Change its role, or remove the invitation."
    assert Membership.objects.get(pk=invitation_id).status == INVITED
    assert delete(client, invitation_id).status_code == 204
    assert not Membership.objects.filter(pk=invitation_id).exists()


# --- The list -----------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [(OW, 200), (A, 200), (M, 200), (G, 403)])
def test_who_may_list_members(client, workspace, role, status):
    user = factories.owner_of(workspace) if role == OW else factories.add_member(workspace, role)
    client.force_login(user)
    response = client.get("/api/members")
    assert response.status_code == status
    if status == 403:
        assert error(response) | {"request_id": ""} == {
            "code": "permission_denied",
            "message": "Only workspace owners, admins and members can see the members list.",
            "hint": "Ask an owner or admin of this workspace.",
            "request_id": "",
        }


def test_the_list_shows_every_membership_owners_first_then_by_email(client):
    owner = factories.make_user("zed@example.com", name="Zed")
    workspace = factories.make_workspace(owner=owner)
    factories.add_member(workspace, A, factories.make_user("amy@example.com"))
    factories.add_member(workspace, OW, factories.make_user("yan@example.com"))
    factories.add_member(workspace, G, factories.make_user("Bob@example.com"), status=SUSPENDED)
    Membership.objects.create(
        workspace=workspace, invited_email="cat@example.com", role=M, status=INVITED, invited_by=owner
    )
    other = factories.make_workspace()
    factories.add_member(other, M, factories.make_user("aaa@example.com"))
    client.force_login(owner)

    results = client.get("/api/members").json()["results"]

    assert [(m["email"], m["role"], m["status"]) for m in results] == [
        ("yan@example.com", "owner", "active"),
        ("zed@example.com", "owner", "active"),
        ("amy@example.com", "admin", "active"),
        ("bob@example.com", "guest", "suspended"),
        ("cat@example.com", "member", "invited"),
    ]
    zed, cat = results[1], results[4]
    assert set(zed) == {"id", "user", "email", "role", "status", "invited_by", "created_at"}
    assert zed["id"] == membership(workspace, owner).pk
    assert zed["user"] == {"id": owner.pk, "email": "zed@example.com", "name": "Zed"}
    assert zed["invited_by"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", zed["created_at"])
    assert cat["user"] is None
    assert cat["invited_by"] == {"id": owner.pk, "email": "zed@example.com", "name": "Zed"}


def test_patch_answers_the_member_as_the_list_shows_it(client, workspace, owner):
    target = membership(workspace, factories.add_member(workspace, M))
    client.force_login(owner)
    changed = patch(client, target.pk, {"role": "admin", "status": "suspended"}).json()
    listed = next(m for m in client.get("/api/members").json()["results"] if m["id"] == target.pk)
    assert changed == listed
    assert (changed["role"], changed["status"]) == ("admin", "suspended")


# --- Audit ----------------------------------------------------------------------------------


def test_every_member_change_is_audited(client, workspace, owner):
    user = factories.add_member(workspace, M)
    target = membership(workspace, user)
    client.force_login(owner)
    patch(client, target.pk, {"role": "admin", "status": "suspended"})
    patch(client, target.pk, {"role": "admin"})  # no change: no event
    delete(client, target.pk)
    events = AuditEvent.objects.filter(workspace=workspace, action__startswith="member.").order_by("id")
    assert [(e.action, e.details) for e in events] == [
        ("member.role_changed", {"from": "member", "to": "admin"}),
        ("member.status_changed", {"from": "active", "to": "suspended"}),
        ("member.removed", {"role": "admin", "status": "suspended"}),
    ]
    for event in events:
        assert (event.actor_user, event.target_label) == (owner, user.email)
        assert (event.target_type, event.target_id) == ("accounts.membership", str(target.pk))
        assert event.ip == "127.0.0.1"


# --- Billing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "paid", "wanted"), [(Plan.FREE, False, "to upgrade to Pro"), (Plan.BUSINESS, True, "to change this plan")]
)
def test_owners_see_billing(client, settings, plan, paid, wanted):
    settings.SUPPORT_EMAIL = "billing@parley.example"
    workspace = factories.make_workspace(plan=plan, name="Acme")
    client.force_login(factories.owner_of(workspace))
    response = client.get("/api/workspace/billing")
    assert response.status_code == 200
    assert response.json() == {
        "workspace": {"id": workspace.pk, "name": "Acme"},
        "plan": plan,
        "paid": paid,
        "status": "active",
        "upgrade": f"Plans are changed by Parley support: {wanted}, contact billing@parley.example "
        'from an owner\'s address, naming the workspace "Acme".',
    }


@pytest.mark.parametrize("role", [A, M, G])
def test_only_owners_see_billing(client, workspace, role):
    client.force_login(factories.add_member(workspace, role))
    response = client.get("/api/workspace/billing")
    assert response.status_code == 403
    assert error(response)["message"] == "Only workspace owners can see the plan and upgrade it."


# --- Deleting the workspace -----------------------------------------------------------------


def test_an_owner_deletes_the_workspace_with_its_name(client):
    owner = factories.make_user()
    workspace = factories.make_workspace(owner=owner, name="Acme Support")
    member = factories.add_member(workspace, M)
    key, _ = factories.make_key(workspace)
    other = factories.make_workspace(owner=owner, name="Other")
    client.force_login(owner)
    client.post(f"/api/workspaces/{workspace.pk}/switch")
    assert client.session[SESSION_WORKSPACE_KEY] == workspace.pk

    response = delete_workspace(client, {"confirm": "Acme Support"})

    assert response.status_code == 204
    assert response.content == b""
    assert not Workspace.objects.filter(pk=workspace.pk).exists()
    assert not Membership.objects.filter(workspace_id=workspace.pk).exists()
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert not AuditEvent.objects.filter(workspace_id=workspace.pk).exists()
    event = AuditEvent.objects.get(action="workspace.deleted")
    assert event.workspace is None
    assert (event.actor_user, event.target_id, event.target_label) == (owner, str(workspace.pk), "Acme Support")
    assert event.details == {"workspace_id": workspace.pk, "name": "Acme Support", "plan": "pro"}
    assert SESSION_WORKSPACE_KEY not in client.session
    # The next request falls back to another workspace; the members are still users.
    assert client.get("/api/me").json()["current_workspace"]["id"] == other.pk
    member.refresh_from_db()


@pytest.mark.parametrize("role", [A, M, G])
def test_only_owners_delete_the_workspace(client, workspace, role):
    client.force_login(factories.add_member(workspace, role))
    response = delete_workspace(client, {"confirm": workspace.name})
    assert response.status_code == 403
    assert error(response)["message"] == "Only workspace owners can delete the workspace."
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert not AuditEvent.objects.filter(action="workspace.deleted").exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (None, {"confirm": ["Type the workspace's name exactly, Acme Support, to confirm deleting it."]}),
        ({}, {"confirm": ["Type the workspace's name exactly, Acme Support, to confirm deleting it."]}),
        ({"confirm": None}, {"confirm": ["Type the workspace's name exactly, Acme Support, to confirm deleting it."]}),
        ({"confirm": ""}, {"confirm": ["Type the workspace's name exactly, Acme Support, to confirm deleting it."]}),
        (
            {"confirm": "acme support"},
            {"confirm": ["Type the workspace's name exactly, Acme Support, to confirm deleting it."]},
        ),
        (
            {"confirm": "Acme Support "},
            {"confirm": ["Type the workspace's name exactly, Acme Support, to confirm deleting it."]},
        ),
        ({"confirm": "Acme Support", "cascade": False}, {"cascade": [UNKNOWN_FIELD]}),
    ],
)
def test_deleting_needs_the_exact_name_and_deletes_nothing_otherwise(client, owner, body, fields):
    workspace = factories.make_workspace(owner=owner, name="Acme Support")
    client.force_login(owner)
    client.post(f"/api/workspaces/{workspace.pk}/switch")
    response = client.delete("/api/workspace") if body is None else delete_workspace(client, body)
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_request"
    assert error(response)["fields"] == fields
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert client.session[SESSION_WORKSPACE_KEY] == workspace.pk
    assert not AuditEvent.objects.filter(action="workspace.deleted").exists()


def test_the_deleted_workspaces_api_keys_stop_at_once(client, api_client, workspace, owner, secret_key, monkeypatch):
    key, plain = secret_key
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 200  # cached with Redis
    invalidated = []
    real_invalidate = key_cache.invalidate
    monkeypatch.setattr(
        key_cache, "invalidate", lambda digest, version: (invalidated.append(digest), real_invalidate(digest, version))
    )
    client.force_login(owner)
    assert delete_workspace(client, {"confirm": workspace.name}).status_code == 204

    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.status_code == 401
    assert error(response)["code"] == "invalid_api_key"
    assert key.digest in invalidated  # told through workspace_access_changed, before the rows went


# --- CSRF: every write needs the token, with a real login -------------------------------------

UNSAFE = [
    ("patch", "/api/members/{target}", {"role": "admin"}, 200),
    ("delete", "/api/members/{target}", None, 204),
    ("post", "/api/members/invite", {"email": "new@example.com"}, 201),
    ("delete", "/api/workspace", {"confirm": "{name}"}, 204),
]


def logged_in_csrf_client(user):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    login = client.post(
        "/accounts/login/",
        {"login": user.email, "password": factories.PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )
    assert login.status_code == 302
    return client


@pytest.mark.parametrize(("method", "path", "body", "status"), UNSAFE)
def test_every_write_needs_the_csrf_token(workspace, owner, method, path, body, status):
    target = membership(workspace, factories.add_member(workspace, M))
    client = logged_in_csrf_client(owner)
    refused = _send(client, method, path, body, workspace, target)
    assert refused.status_code == 403
    assert error(refused) | {"request_id": ""} == {
        "code": "permission_denied",
        "message": "CSRF check failed.",
        "hint": "Send the csrftoken cookie's value in the X-CSRFToken header with every write.",
        "request_id": "",
    }
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    target.refresh_from_db()
    assert target.role == M
    assert not Membership.objects.filter(invited_email="new@example.com").exists()

    token = client.cookies["csrftoken"].value
    accepted = _send(client, method, path, body, workspace, target, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == status, accepted.content
