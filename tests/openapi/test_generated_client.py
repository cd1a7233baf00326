"""A Python client generated from the served document (openapi-python-client), used against the API.

The client is generated at test time into a temporary directory (never committed), its
modules checked with ``ruff --select F``, and imported from there. The same smoke test
runs twice: against the WSGI app in this process (httpx's WSGI transport; every run, SQLite
included) and against a real gunicorn server over HTTP (``live``: the PostgreSQL pass, as a
separate process only sees a database it shares).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests import factories
from tests.live import start_server, stop_server
from tests.openapi.conftest import served_document

pytestmark = pytest.mark.openapi
BIN = Path(sys.executable).parent
PACKAGE = "parley_api_client"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The generated client's modules, imported from a temporary directory."""
    started = time.monotonic()
    root = tmp_path_factory.mktemp("generated-client")
    (root / "schema.json").write_text(json.dumps(served_document()))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # its post-hooks call ruff
    out = root / "client"
    generate = subprocess.run(
        [
            BIN / "openapi-python-client",
            "generate",
            "--path",
            root / "schema.json",
            "--output-path",
            out,
            "--overwrite",
            "--fail-on-warning",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generate.returncode == 0, generate.stdout + generate.stderr
    lint = subprocess.run(
        [BIN / "ruff", "check", "--no-cache", "--select", "F", out],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    sys.path.insert(0, str(out))
    try:
        modules = {
            name: importlib.import_module(f"{PACKAGE}.{name}")
            for name in (
                "client",
                "models",
                "api.contacts.list_contacts",
                "api.contacts.create_contact",
                "api.contacts.get_contact",
                "api.me.get_me",
            )
        }
        yield SimpleNamespace(**{name.rsplit(".", 1)[-1]: module for name, module in modules.items()})
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]
    print(f"generated client: {time.monotonic() - started:.1f} s")


def test_the_generated_client_in_process(api, wsgi_app):
    """Through httpx's WSGI transport, on the test database (every run, SQLite included)."""
    smoke_test(api, "http://localhost", {"transport": httpx.WSGITransport(app=wsgi_app)})


@pytest.mark.live
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL"), reason="a separate server process needs a shared database: PostgreSQL"
)
def test_the_generated_client_against_gunicorn(api, transactional_db):
    """Over HTTP against a real gunicorn server on loopback, sharing the PostgreSQL test database."""
    proc, url = start_server()
    try:
        smoke_test(api, url, {})
    finally:
        stop_server(proc)


def smoke_test(api: SimpleNamespace, base_url: str, httpx_args: dict) -> None:
    """List, paginate, filter, create, read, 409, 404, 403 missing_scope, 401: typed results throughout."""
    workspace = factories.make_workspace()
    first = factories.make_contact(workspace, email="first@example.com", name="First")
    for n in range(2):
        factories.make_contact(workspace, email=f"more{n}@example.com")
    _, full = factories.make_key(workspace, scopes=["contacts:write"])
    _, read_only = factories.make_key(workspace, scopes=["contacts:read"])
    client = api.client.AuthenticatedClient(base_url=base_url, token=full, httpx_args=httpx_args)
    models = api.models

    me = api.get_me.sync(client=client)
    assert isinstance(me, models.Me)
    assert me.workspace.id == workspace.pk
    assert me.workspace.plan == models.PlanEnum.PRO
    assert me.key.scopes == ["contacts:write"]

    page = api.list_contacts.sync(client=client, limit=2)
    assert isinstance(page, models.ContactPage)
    assert len(page.results) == 2
    assert all(isinstance(contact, models.Contact) for contact in page.results)
    assert page.next_ is not None  # next_: "next" is a Python builtin
    assert page.previous is None
    cursor = parse_qs(urlparse(page.next_).query)["cursor"][0]
    rest = api.list_contacts.sync(client=client, limit=2, cursor=cursor)
    assert isinstance(rest, models.ContactPage)
    assert [c.id for c in rest.results] == [first.public_id]  # the oldest, last
    assert rest.results[0].source == models.ChannelEnum.API
    assert isinstance(rest.results[0].created_at, datetime)

    found = api.list_contacts.sync(client=client, email="FIRST@example.com")
    assert isinstance(found, models.ContactPage)
    assert [c.name for c in found.results] == ["First"]

    created = api.create_contact.sync_detailed(
        client=client, body=models.ContactInput(email="Ada@Example.com", phone="+14155550123", name="Ada Lovelace")
    )
    assert created.status_code == 201
    assert int(created.headers["X-RateLimit-Limit"]) > 0
    assert created.headers["RateLimit-Policy"].startswith(f'"key";q={created.headers["X-RateLimit-Limit"]};w=')
    assert created.headers["RateLimit"] == (
        f'"key";r={created.headers["X-RateLimit-Remaining"]};t={created.headers["X-RateLimit-Reset"]}'
    )
    contact = created.parsed
    assert isinstance(contact, models.Contact)
    assert contact.id.startswith("ct_")
    assert (contact.email, contact.phone, contact.name) == ("ada@example.com", "+14155550123", "Ada Lovelace")
    assert contact.opted_out is False

    again = api.get_contact.sync(client=client, contact_id=contact.id)
    assert isinstance(again, models.Contact)
    assert again.to_dict() == contact.to_dict()

    duplicate = api.create_contact.sync_detailed(client=client, body=models.ContactInput(email="ada@example.com"))
    assert duplicate.status_code == 409
    assert isinstance(duplicate.parsed, models.ErrorResponse)
    assert duplicate.parsed.error.code == "conflict"
    assert duplicate.parsed.error.existing_id == contact.id

    missing = api.get_contact.sync_detailed(client=client, contact_id="ct_doesnotexist")
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorResponse)
    assert missing.parsed.error.code == "not_found"
    assert missing.parsed.error.request_id == missing.headers["X-Request-Id"]

    reader = api.client.AuthenticatedClient(base_url=base_url, token=read_only, httpx_args=httpx_args)
    refused = api.create_contact.sync_detailed(client=reader, body=models.ContactInput(email="grace@example.com"))
    assert refused.status_code == 403
    assert isinstance(refused.parsed, models.ErrorResponse)
    assert refused.parsed.error.code == "missing_scope"
    assert refused.parsed.error.required_scope == "contacts:write"
    assert refused.parsed.error.message == "This API key lacks the contacts:write scope."

    nobody = api.client.Client(base_url=base_url, httpx_args=httpx_args)
    unauthenticated = api.get_me.sync_detailed(client=nobody)  # a plain Client: no key
    assert unauthenticated.status_code == 401
    assert isinstance(unauthenticated.parsed, models.ErrorResponse)
    assert unauthenticated.parsed.error.code == "api_key_required"
