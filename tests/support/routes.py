"""The app's route table, for the tests that must cover every route (auth, OpenAPI)."""

from app.main import api_routes  # noqa: F401  (re-exported for the tests)

# Routes that take no API key. Anything else without an auth dependency fails the auth and
# OpenAPI tests: a route is public only by being listed here.
HEALTH_PROBES = {("GET", "/healthz"), ("GET", "/readyz")}
# Prometheus scrapes: open unless METRICS_TOKEN is set (tests/e2e/test_prometheus_metrics.py).
SCRAPES = {("GET", "/metrics")}
# Capability URLs: the unguessable token/secret/id in the path is the credential (the worker's
# tracking page, the carrier's webhook, the simulated carrier's label and tracking pages). An
# unknown token must answer 404 (tests/e2e/test_auth_roles.py checks it).
CAPABILITY_URLS = {
    ("GET", "/t/{token}"),
    ("GET", "/t/{token}.json"),
    ("GET", "/t/{token}/followup"),
    ("POST", "/t/{token}/followup"),
    ("GET", "/labels/sim/{label_id}.svg"),
    ("GET", "/sim/track/{tracking_number}"),
    ("POST", "/webhooks/shippo/{secret}"),
}
# Pages whose HTML holds no data: their script calls the API with a key the person types in (the
# scan station), or reads the public OpenAPI document (the API docs).
PUBLIC_PAGES = {("GET", "/scan"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")}
UNPROTECTED = HEALTH_PROBES | SCRAPES | CAPABILITY_URLS | PUBLIC_PAGES


def openapi_operations() -> list[tuple[str, str]]:
    """(path, method) of every operation in the committed OpenAPI document (a test keeps it equal to
    the served one)."""
    import json
    from pathlib import Path

    document = json.loads((Path(__file__).parents[2] / "openapi" / "openapi.json").read_text())
    return [(path, method) for path, item in document["paths"].items() for method in item]
