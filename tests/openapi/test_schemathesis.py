"""Schemathesis against the served OpenAPI document: every /api/v1/ operation, a key holding every scope.

The schema is loaded from ``/api/v1/schema/`` through the WSGI app and each generated
request is sent to the same app in this process, on the test database — so this runs in
the SQLite pass and in the PostgreSQL + Redis pass alike. The checks: no 5xx, the status
code is documented, the content type and the body match the documented response, and the
documented required headers (``X-Request-Id``, ``X-RateLimit-*``, ``Retry-After``) are there,
and every answer carrying ``X-RateLimit-*`` carries the IETF ``RateLimit-Policy`` / ``RateLimit``
fields with the same numbers.

The objects the document's examples name (``ct_8hT3kQ2mZx9vLw4R``, …) exist, so the
explicit phase reads, updates and deletes real objects; the generate phase then sends
``MAX_EXAMPLES`` generated requests per operation.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 15
IETF_POLICY = re.compile(r'^"key";q=(\d+);w=(\d+)$')
IETF_STATE = re.compile(r'^"key";r=(\d+);t=(\d+)$')


def ietf_rate_limit_fields(ctx, response, case) -> None:
    """Beside ``X-RateLimit-*``: ``RateLimit-Policy`` and ``RateLimit`` (draft-11), the same numbers."""
    headers = {name.lower(): values[0] for name, values in response.headers.items()}
    if "x-ratelimit-limit" not in headers:
        assert "ratelimit-policy" not in headers, case.operation.label
        assert "ratelimit" not in headers, case.operation.label
        return
    policy = IETF_POLICY.match(headers.get("ratelimit-policy", ""))
    state = IETF_STATE.match(headers.get("ratelimit", ""))
    assert policy, (case.operation.label, headers)
    assert state, (case.operation.label, headers)
    assert policy[1] == headers["x-ratelimit-limit"], case.operation.label
    assert (state[1], state[2]) == (headers["x-ratelimit-remaining"], headers["x-ratelimit-reset"])
    assert int(state[2]) <= int(policy[2])


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    ietf_rate_limit_fields,
]


@pytest.fixture
def api_schema(wsgi_app, full_key):
    return schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app)


schema = schemathesis.pytest.from_fixture("api_schema")
pytestmark = pytest.mark.openapi


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same requests every run (and in both database passes)
    database=None,
)
def test_every_operation_conforms_to_the_document(case, full_key):
    case.headers = {key: value for key, value in (case.headers or {}).items() if key.lower() != "x-api-key"}
    case.call_and_validate(headers={"Authorization": f"Bearer {full_key}"}, checks=CHECKS)
