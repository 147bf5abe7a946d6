"""Property-based fuzzing of every operation in the served OpenAPI document (schemathesis): no
request, valid or not, may produce a 500, and every answer is one the document promises (status
code, body schema, content type). Runs against demo data, as an admin (every route).

The document is read from the app once, and the demo data seeded once, for all the operations: the
requests of one operation may change what the next one finds, as real callers' would."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.routes import openapi_operations
from tests.support.service import app_on_demo_data

EXAMPLES = 20  # per operation; derandomized, so the same cases every run
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
OPERATIONS = openapi_operations()


@pytest.fixture(scope="module")
def served(database_template, tmp_path_factory):
    with app_on_demo_data(database_template, tmp_path_factory.mktemp("fuzz")) as (app, admin):
        yield schemathesis.openapi.from_asgi("/openapi.json", app), admin


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_no_request_produces_a_server_error_or_an_undocumented_answer(served, path, method):
    schema, admin = served
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def fuzz(case):
        case.call_and_validate(headers=admin, checks=CHECKS)

    fuzz()
