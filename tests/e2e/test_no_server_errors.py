"""Property-based fuzzing of every operation in the served OpenAPI document (schemathesis): no
request, valid or not, may produce a 500, and every answer is one the document promises (status
code, body schema, content type). Runs against demo data, as an admin (every route)."""

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.db import unit_of_work
from app.demo import seed_demo

EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
DOCUMENT = json.loads((Path(__file__).parents[2] / "openapi" / "openapi.json").read_text())
OPERATIONS = [(path, method) for path, item in DOCUMENT["paths"].items() for method in item]


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_no_request_produces_a_server_error_or_an_undocumented_answer(app, session_factory, keys, path, method):
    with unit_of_work(session_factory) as session:
        seed_demo(session)
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def fuzz(case):
        case.call_and_validate(headers=keys["admin"], checks=CHECKS)

    fuzz()
