"""No ping before each use: a pooled connection the server closed is found dead on its first statement,
and the request is run again on a fresh one — answered as if nothing happened, written once. A
connection lost during the commit is not run again (it may have committed): that is a 503."""

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from app.models import SpareUnit, SwapRequest
from app.settings import Settings
from tests.support import factories as f
from tests.support import http
from tests.support.factories import post_swap, swap_body
from tests.support.service import BASE_SETTINGS

pytestmark = [pytest.mark.postgres_only, pytest.mark.live_db]
POOL, REQUESTS = 4, 44  # more requests at once than the API's 40 request threads


def _kill_pooled_connections(app) -> int:
    """Terminate the app's idle pooled connections from outside, as a server restart would."""
    outside = create_engine(app.state.engine.url, poolclass=NullPool)
    try:
        with outside.connect() as conn:
            return conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    finally:
        outside.dispose()


def _warm(client, keys, n: int = 4) -> None:
    for _ in range(n):
        assert client.get("/api/v1/depots", headers=keys["support"]).status_code == 200


def test_reads_and_writes_on_dead_pooled_connections_are_run_again_and_answered(client, keys, app,
                                                                                   session_factory, caplog):
    admin = keys["admin"]
    depot = f.depot(client, admin, "LON")
    model = f.model(client, admin)
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    _warm(client, keys)
    assert app.state.engine.pool.checkedin() >= 1
    assert _kill_pooled_connections(app) >= 1

    with caplog.at_level(logging.INFO, logger="app"):
        read = client.get("/api/v1/depots", headers=keys["support"])
    assert read.status_code == 200 and [d["code"] for d in read.json()] == ["LON"]
    assert "run again" in caplog.text

    _warm(client, keys)
    _kill_pooled_connections(app)
    written = post_swap(client, keys, swap_body(model["id"], ticket="LOST-1"))
    assert written.status_code == 201, written.text
    assert written.json()["status"] == "allocated"
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest).where(SwapRequest.ticket_id == "LOST-1")) == 1


def test_a_connection_lost_during_the_commit_is_a_503_not_run_again(client, keys, app, session_factory):
    admin = keys["admin"]
    depot = f.depot(client, admin, "LON")
    model = f.model(client, admin)
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    _warm(client, keys, 1)  # the key is cached: the only commit is the request's
    attempts = []

    def die_at_commit(session):
        if session.in_nested_transaction():
            return  # a savepoint's release, not the commit
        attempts.append(1)
        session.connection().exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")

    event.listen(session_factory, "before_commit", die_at_commit)
    try:
        r = post_swap(client, keys, swap_body(model["id"], ticket="LOST-2"))
    finally:
        event.remove(session_factory, "before_commit", die_at_commit)
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
    assert len(attempts) == 1
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest).where(SwapRequest.ticket_id == "LOST-2")) == 0


@pytest.fixture
def settings(database_url):
    """A pool of four connections and no overflow, under far more requests than that."""
    return Settings(database_url=database_url, **BASE_SETTINGS, db_pool_size=POOL, db_pool_overflow=0)


def test_many_more_requests_than_connections_all_answer_and_no_connection_is_opened_per_request(
        client, keys, app, live_server, session_factory):
    """44 writes at once against 4 pooled connections — more than the API's 40 request threads —, half
    swaps (their own transaction) and half units (the request's transaction, committed after the
    handler): a request holding a connection must be able to commit while every thread waits for one."""
    admin = keys["admin"]
    depot = f.depot(client, admin, "LON")
    model = f.model(client, admin)
    for _ in range(3):
        f.unit(client, keys["warehouse"], model["id"], depot["id"])
    connects = []
    event.listen(app.state.engine, "connect", lambda *_: connects.append(1))

    def one(i):
        with http.client(base_url=live_server, timeout=60) as c:
            if i % 2:
                return c.post("/api/v1/swap-requests", json=swap_body(model["id"], ticket=f"POOL-{i}"),
                              headers=keys["support"]).status_code
            return c.post("/api/v1/units", json={"serial": f"POOL-{i}", "asset_tag": f"POOL-{i}", "state": "ready",
                                                 "model_id": model["id"], "depot_id": depot["id"]},
                          headers=keys["warehouse"]).status_code

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        codes = list(pool.map(one, range(REQUESTS)))
    assert codes == [201] * REQUESTS
    assert len(connects) <= POOL, f"{len(connects)} connections opened for {REQUESTS} requests on a pool of {POOL}"
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest).where(
            SwapRequest.ticket_id.like("POOL-%"))) == REQUESTS // 2
        assert s.scalar(select(func.count()).select_from(SpareUnit).where(
            SpareUnit.serial.like("POOL-%"))) == REQUESTS // 2
