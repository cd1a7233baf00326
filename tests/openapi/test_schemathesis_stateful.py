"""Schemathesis in stateful mode: sequences of /api/v1/ calls that follow the document's links.

``core.openapi.link_operations`` links what an answer carries to the operations it feeds
(``create_contact`` → ``get_contact`` / ``update_contact`` / ``delete_contact`` by the new id,
``create_hook`` → ``roll_hook_secret`` / ``replay_hook_event`` / ``delete_hook``, a list's first
item → its operations, …). Schemathesis walks those links with a key holding every scope, on
PostgreSQL, with every check it has on: besides the stateless test's (no 5xx, status code,
content type, body and headers as documented), the stateful ones — ``use_after_free`` (what
was deleted is gone), ``ensure_resource_availability`` (what was created can be read),
``ignored_auth`` (no operation answers without its key), ``negative_data_rejection``,
``positive_data_acceptance``, ``unsupported_method``, ``missing_required_header``, …

Bounded: ``SCENARIOS`` scenarios of at most ``STEPS`` calls (a few minutes at most on a busy
machine), the same ones every run (``derandomize``). PostgreSQL only: the calls run in this
process on the test database, and it is the PostgreSQL + Redis pass of ``.ci/run`` that runs it.
"""

from __future__ import annotations

import datetime
import os

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.pagination import Cursor

from core.pagination import cursor_token
from tests.openapi.test_schemathesis import ietf_rate_limit_fields

SCENARIOS = 150
STEPS = 10

# The document's ``format: cursor`` is an opaque token a list answer gave; schema-valid ones are
# cursors the API signed (anything else is a documented 400, which positive_data_acceptance would flag).
CURSORS = st.builds(
    Cursor,
    offset=st.integers(min_value=0, max_value=5),
    reverse=st.booleans(),
    position=st.none() | st.datetimes(timezones=st.just(datetime.UTC)).map(lambda moment: moment.isoformat()),
).map(cursor_token)

# positive_data_acceptance expects every schema-valid request to succeed. These operations have
# rules no JSON Schema states, each a documented 400 naming the field (so 400 is expected too):
BUSINESS_RULES = {
    "create_hook": "target_url must be http(s) to a public address (SSRF rules, SECURITY.md)",
    "create_contact": "an email or a phone (or both); the phone in E.164; the email unique in the workspace",
    "update_contact": "the same rules as create_contact, on the contact as it becomes",
    "create_ticket": "contact must be the id of a contact of this workspace",
    "update_ticket": "the same: contact must be the id of a contact of this workspace",
    "replay_hook_event": "event_id must be an event of the last 30 days that this hook's type matches",
    "create_completion": "conversation_id must be a conversation of this assistant; the last turn is the user's",
}


def _config() -> schemathesis.Config:
    operations = "".join(
        f"""
[[operations]]
include-operation-id = "{operation}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
"""
        for operation in BUSINESS_RULES
    )
    # Text with NUL is refused (400) by every field, as DRF's CharField does; the document does not
    # spell that out on each string, so NUL is not generated (what else text may hold is).
    return schemathesis.Config.from_str("[generation]\nallow-x00 = false\n" + operations)


pytestmark = [
    pytest.mark.openapi,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="the stateful run is on PostgreSQL (DATABASE_URL)"),
]


def test_call_sequences_along_the_links_conform_to_the_document(wsgi_app, full_key, settings):
    # ignored_auth probes each operation without a key and with a bad one, all from one client IP:
    # past the per-IP limits (30 failed keys, 600 anonymous calls a minute) that IP gets 429, as
    # tests/security checks; here the check wants the 401 underneath.
    settings.API_AUTH_FAILURE_RATE = "100000/m"
    settings.PUBLIC_RATE_LIMIT = "100000/m"
    schemathesis.openapi.format("cursor", CURSORS)
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app, config=_config())

    @schema.auth()
    class WorkspaceKey:  # the real key, as schemathesis's auth (so ignored_auth knows it valid and probes without it)
        def get(self, case, context):
            return full_key

        def set(self, case, data, context):
            headers = {key: value for key, value in (case.headers or {}).items() if key.lower() != "x-api-key"}
            case.headers = {**headers, "Authorization": f"Bearer {data}"}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]  # a class schemathesis builds from the document
        # Each scenario starts from the same data (a savepoint, rolled back after it): Hypothesis
        # replays and shrinks scenarios, and a replay must meet the server as the first run did.
        def setup(self):
            self._scenario = transaction.atomic()
            self._scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self._scenario.__exit__(None, None, None)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            super().validate_response(response, case, additional_checks=[ietf_rate_limit_fields], **kwargs)

    Workflow.run(
        settings=hypothesis_settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
