"""The committed OpenAPI document is the one the app serves, and it documents the errors."""

import json
from pathlib import Path

import pytest

from app.main import create_app
from tests.support.routes import UNPROTECTED

pytestmark = pytest.mark.any_database  # the document is built from the routes

SPEC_FILE = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
UNAUTHENTICATED = {path for _, path in UNPROTECTED}  # health probes and capability URLs
METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


@pytest.fixture
def served(app) -> dict:
    # Through JSON, as `spares openapi` writes it (tuples become lists, keys strings).
    return json.loads(json.dumps(app.openapi(), sort_keys=True))


def _committed() -> dict:
    if not SPEC_FILE.exists():
        pytest.fail(f"{SPEC_FILE.relative_to(SPEC_FILE.parents[1])} is missing: run `make openapi` and commit it")
    return json.loads(SPEC_FILE.read_text())


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def test_the_committed_document_is_what_the_app_serves(served):
    committed = _committed()
    if committed != served:
        stale = sorted({p for p in set(served["paths"]) | set(committed["paths"])
                        if served["paths"].get(p) != committed["paths"].get(p)})
        pytest.fail("openapi/openapi.json is out of date: run `make openapi` and commit it. "
                    f"Paths that differ: {stale or '(components/info only)'}")


def test_the_document_does_not_depend_on_settings(served, tmp_path):
    from app.settings import Settings

    other = create_app(Settings(database_url=f"sqlite:///{tmp_path}/other.db", log_level="WARNING"))
    try:
        assert json.loads(json.dumps(other.openapi(), sort_keys=True)) == served
    finally:
        other.state.engine.dispose()


def test_the_document_lists_every_route(served):
    assert {"/healthz", "/readyz", "/api/v1/depots", "/api/v1/units/import", "/api/v1/stock"} <= set(served["paths"])
    assert sum(1 for _ in _operations(served)) >= 25


def test_every_authenticated_operation_declares_401_and_403(served):
    missing = []
    for path, method, op in _operations(served):
        if path in UNAUTHENTICATED:
            assert "401" not in op["responses"] and not op.get("security"), (method, path)
            continue
        for status in ("401", "403"):
            if status not in op["responses"]:
                missing.append(f"{method.upper()} {path}: {status}")
        if not op.get("security"):
            missing.append(f"{method.upper()} {path}: security")
    assert missing == []


def test_every_operation_with_a_body_declares_422(served):
    with_body = [(path, method, op) for path, method, op in _operations(served) if "requestBody" in op]
    assert len(with_body) >= 10
    missing = [f"{m.upper()} {p}" for p, m, op in with_body if m != "get" and "422" not in op["responses"]]
    assert missing == []


def test_api_error_responses_are_problem_documents(served):
    checked = 0
    for path, method, op in _operations(served):
        if not path.startswith("/api/"):  # probes answer plain JSON; worker pages plain text
            continue
        checked += 1
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                content = response.get("content", {})
                assert content.get("application/problem+json", {}).get("schema") == {
                    "$ref": "#/components/schemas/Problem"}, (method, path, status, content)
    assert checked >= 25


def test_csv_endpoints_document_their_media_types(served):
    export = served["paths"]["/api/v1/units/export.csv"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in export
    importing = served["paths"]["/api/v1/units/import"]["post"]
    assert "text/csv" in importing["requestBody"]["content"]
    assert {"400", "413", "415", "422"} <= set(importing["responses"])


def test_the_openapi_command_writes_the_served_document(served, tmp_path, monkeypatch, database_url):
    """`make openapi` (spares openapi) writes what the app serves, creating the folder if need be.
    It writes to a temporary path here: the committed file is only ever written by `make openapi`."""
    from typer.testing import CliRunner

    from app import cli
    from app.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        out = tmp_path / "fresh-clone" / "openapi.json"
        result = CliRunner().invoke(cli.app, ["openapi", "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert json.loads(text) == served
    assert text == json.dumps(served, indent=2, sort_keys=True) + "\n"
