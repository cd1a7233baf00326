"""Contacts and tickets in the admin: support staff find and read them; only superusers correct them."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def support():
    user = factories.make_user(is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser():
    client = Client()
    client.force_login(factories.make_user(is_staff=True, is_superuser=True))
    return client


def test_support_staff_find_contacts_and_tickets_but_change_nothing(support, workspace):
    contact = factories.make_contact(workspace, email="ada@example.com", name="Ada")
    ticket = factories.make_ticket(workspace, subject="Printer on fire", contact=contact)
    listed = support.get("/admin/crm/contact/?q=ada@example.com")
    assert listed.status_code == 200
    assert "Ada" in listed.content.decode()
    assert "Printer on fire" in support.get("/admin/crm/ticket/?q=Printer").content.decode()
    page = support.get(f"/admin/crm/ticket/{ticket.pk}/change/")
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()
    assert support.post(f"/admin/crm/ticket/{ticket.pk}/change/", {"status": "closed"}).status_code == 403
    assert support.get("/admin/crm/contact/add/").status_code == 403


def test_superusers_correct_a_contact(superuser, workspace):
    contact = factories.make_contact(workspace, email="ada@example.com")
    response = superuser.post(
        f"/admin/crm/contact/{contact.pk}/change/",
        {"name": "Ada L.", "email": "ada@example.com", "phone": "", "opted_out": "on"},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.opted_out) == ("Ada L.", True)
