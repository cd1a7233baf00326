"""The identity-verification examples of the README (docs/examples/) against the session endpoint.

Each example is run as its README shows it, with the secret ``POST /api/assistants/{id}/identity-secret``
showed, and its output posted as the host page's widget would post it: both ways verify,
and the same user id is the same visitor whichever way (and language) vouched for it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
USER_ID = "customer-4711"


def run_example(*command: str) -> dict[str, str]:
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)
    return json.loads(done.stdout)


def python_example(secret: str) -> dict[str, str]:
    return run_example(sys.executable, str(EXAMPLES / "widget_identity.py"), secret, USER_ID)


def node_example(secret: str) -> dict[str, str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Node example cannot run")
    return run_example(node, str(EXAMPLES / "widget_identity.mjs"), secret, USER_ID)


@pytest.fixture
def identity_secret(widget_assistant, owner) -> str:
    """The assistant's identity secret as the owner gets it, with verification then required."""
    client = Client()
    client.force_login(owner)
    url = f"/api/assistants/{widget_assistant.public_id}"
    made = client.post(f"{url}/identity-secret", content_type="application/json")
    assert made.status_code == 201, made.content
    changed = client.patch(url, json.dumps({"identity_verification": "required"}), content_type="application/json")
    assert changed.status_code == 200, changed.content
    return made.json()["identity_secret"]


@pytest.mark.parametrize("example", [python_example, node_example], ids=["python", "node"])
def test_both_ways_of_an_example_verify_the_same_visitor(visitor, identity_secret, example):
    out = example(identity_secret)
    assert out["user_id"] == USER_ID

    by_token = visitor.post("session", {"user_token": out["user_token"]})
    by_hash = visitor.post("session", {"user_id": out["user_id"], "user_hash": out["user_hash"]})

    assert by_token.status_code == 201, by_token.content
    assert by_hash.status_code == 201, by_hash.content
    assert by_token.json()["verified"] is True
    assert by_hash.json()["verified"] is True
    assert by_token.json()["visitor_id"] == by_hash.json()["visitor_id"]


def test_the_two_examples_agree(visitor, identity_secret):
    from_python, from_node = python_example(identity_secret), node_example(identity_secret)
    assert from_python["user_hash"] == from_node["user_hash"]
    sessions = [visitor.post("session", {"user_token": out["user_token"]}).json() for out in (from_python, from_node)]
    assert sessions[0]["visitor_id"] == sessions[1]["visitor_id"]


def test_another_secret_does_not_verify(visitor, identity_secret):
    out = python_example(identity_secret + "x")
    for body in ({"user_token": out["user_token"]}, {"user_id": USER_ID, "user_hash": out["user_hash"]}):
        refused = visitor.post("session", body)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "identity_verification_failed"
    anonymous = visitor.post("session", {})
    assert anonymous.status_code == 403
    assert anonymous.json()["error"]["code"] == "identity_verification_failed"


def test_the_examples_explain_their_usage():
    commands = ([sys.executable, str(EXAMPLES / "widget_identity.py")], ["node", str(EXAMPLES / "widget_identity.mjs")])
    for command in commands:
        if shutil.which(command[0]) is None:
            continue
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 2
        assert "usage:" in done.stderr
