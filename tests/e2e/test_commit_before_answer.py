"""Every 2xx means committed: a write is answered only after its transaction committed, and a commit
that fails is a retryable 5xx problem that changed nothing, never a success."""

import threading
import time

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from app.models import Depot, SpareUnit
from tests.support import factories as f
from tests.support import http
from tests.support.factories import WEBHOOK_SECRET

pytestmark = pytest.mark.live_db  # real COMMITs, made to fail or stall


class FailingCommits:
    """Makes every COMMIT on the app's engine fail the way a dropped connection does."""

    def __init__(self, engine):
        self.engine, self.on = engine, False

    def __call__(self, conn):
        if self.on:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    def __enter__(self):
        event.listen(self.engine, "commit", self)
        self.on = True
        return self

    def __exit__(self, *exc):
        self.on = False
        event.remove(self.engine, "commit", self)


@pytest.fixture
def stock(client, keys):
    depot = f.depot(client, keys["admin"])
    model = f.model(client, keys["admin"])
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"])
    return depot, model, unit


def _count(session_factory, entity) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(entity))


def test_a_unit_whose_commit_fails_is_a_retryable_503_and_not_created(client, keys, stock, app, session_factory):
    depot, model, _ = stock
    before = _count(session_factory, SpareUnit)
    with FailingCommits(app.state.engine):
        r = client.post("/api/v1/units", headers=keys["warehouse"],
                        json={"serial": "SN-FAIL", "asset_tag": "AT-FAIL", "model_id": model["id"],
                              "depot_id": depot["id"], "state": "ready"})
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) >= 1
    assert "retry" in r.json()["detail"].lower()
    assert _count(session_factory, SpareUnit) == before
    assert client.get("/api/v1/units/lookup?code=AT-FAIL", headers=keys["support"]).status_code == 404


@pytest.mark.parametrize("write", ["transition", "depot", "scan", "swap", "webhook"])
def test_no_write_is_answered_2xx_when_its_commit_fails(client, keys, stock, app, session_factory, write):
    depot, model, unit = stock
    requests = {
        "transition": ("POST", f"/api/v1/units/{unit['id']}/transitions", keys["warehouse"],
                       {"target_state": "refurbishing", "reason": "re-image"}),
        "depot": ("POST", "/api/v1/depots", keys["admin"],
                  {"code": "BER", **f.DEPOT_DEFAULTS["BER"]}),
        "scan": ("POST", "/api/v1/scans", keys["warehouse"], {"code": unit["asset_tag"], "depot_id": depot["id"]}),
        "swap": ("POST", "/api/v1/swap-requests", keys["support"], {
            "ticket": {"system": "jira", "id": "IT-9"}, "return_mode": "no_return", "needed": {"model_id": model["id"]},
            "worker": {"name": "Ana Lima", "email": "ana@example.com", "timezone": "Europe/London",
                       "address": {"street1": "1 Park Row", "city": "Leeds", "postal_code": "LS1 5HN",
                                   "country": "GB"}}}),
        "webhook": ("POST", f"/webhooks/shippo/{WEBHOOK_SECRET}", {},
                    {"event": "track_updated", "test": False,
                     "data": {"carrier": "usps", "tracking_number": "9205590000000000000001",
                              "tracking_status": {"status": "TRANSIT", "status_date": "2026-11-24T10:00:00Z"}}}),
    }
    method, path, headers, body = requests[write]
    depots, units = _count(session_factory, Depot), _count(session_factory, SpareUnit)
    with FailingCommits(app.state.engine):
        r = client.request(method, path, headers=headers, json=body)
    assert r.status_code >= 500, f"{write}: {r.status_code} {r.text}"
    assert r.status_code == 503, r.text
    after = client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()
    assert after["state"] == "ready"
    assert (_count(session_factory, Depot), _count(session_factory, SpareUnit)) == (depots, units)


class SlowCommits:
    """Each COMMIT takes a while (a busy database): an answer sent before it would race the next read."""

    def __init__(self, engine, seconds: float):
        self.engine, self.seconds = engine, seconds

    def __call__(self, conn):
        time.sleep(self.seconds)

    def __enter__(self):
        event.listen(self.engine, "commit", self)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "commit", self)


def test_a_read_right_after_a_201_always_finds_what_was_created(live_server, app, keys, stock):
    depot, model, _ = stock
    with SlowCommits(app.state.engine, 0.3), http.client(base_url=live_server, timeout=10) as api:
        missing = []
        for i in range(5):
            r = api.post("/api/v1/units", headers=keys["warehouse"],
                         json={"serial": f"SN-R{i}", "asset_tag": f"AT-R{i}", "model_id": model["id"],
                               "depot_id": depot["id"], "state": "ready"})
            assert r.status_code == 201, r.text
            # A second connection, as another client would use.
            with http.client(base_url=live_server, timeout=10) as other:
                if other.get(f"/api/v1/units/{r.json()['id']}", headers=keys["support"]).status_code != 200:
                    missing.append(i)
    assert missing == []


def test_concurrent_writes_each_answered_after_their_commit(live_server, app, keys, stock):
    """Many clients at once: every 201 is readable at once by someone else."""
    depot, model, _ = stock
    failures: list[str] = []

    def client_thread(n: int) -> None:
        with http.client(base_url=live_server, timeout=20) as api:
            for i in range(4):
                r = api.post("/api/v1/units", headers=keys["warehouse"],
                              json={"serial": f"SN-C{n}-{i}", "asset_tag": f"AT-C{n}-{i}", "model_id": model["id"],
                                    "depot_id": depot["id"], "state": "ready"})
                if r.status_code != 201:
                    failures.append(f"create {r.status_code}")
                    continue
                if api.get(f"/api/v1/units/{r.json()['id']}", headers=keys["support"]).status_code != 200:
                    failures.append(f"read after 201 of unit {r.json()['id']}")

    with SlowCommits(app.state.engine, 0.05):
        threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert failures == []
