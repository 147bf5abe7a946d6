"""A process runs at most `db_work_at_once` requests' transactions at once (the others wait for a turn,
holding no connection), and what a request does before its transaction — the carrier's address check —
is not held back: a slow carrier never stalls the other routes."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import event, text

from app.api import idempotent
from app.api.deps import SessionDep, Support
from tests.support import factories as f
from tests.support.factories import US_WORKER, swap_body
from tests.support.servers import uvicorn_in_thread
from tests.support.shippo_standin import ShippoStandin

pytestmark = pytest.mark.live_db


class _OpenTransactions:
    """How many of the engine's transactions are open at once, at the most; each begin is slowed down
    so transactions that can overlap do."""

    def __init__(self, engine) -> None:
        self.open = self.peak = 0
        self._lock = threading.Lock()
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _begin(self, conn) -> None:
        with self._lock:
            self.open += 1
            self.peak = max(self.peak, self.open)
        time.sleep(0.03)

    def _end(self, conn) -> None:
        with self._lock:
            self.open -= 1

    def reset(self) -> None:
        with self._lock:
            self.peak = self.open


@pytest.mark.parametrize("at_once", [1, 2])
def test_no_more_transactions_run_at_once_than_the_process_allows(make_app, keys, at_once):
    app = make_app(db_work_at_once=at_once)
    seen = _OpenTransactions(app.state.engine)
    with uvicorn_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        depot = f.depot(client, keys["admin"], "LON")
        model = f.model(client, keys["admin"])
        for _ in range(4):
            f.unit(client, keys["warehouse"], model["id"], depot["id"])
        client.get("/api/v1/stock", headers=keys["support"]).raise_for_status()  # every key's first read done
        seen.reset()

        def take_in(n: int) -> int:
            return client.post("/api/v1/swap-requests", json=swap_body(model["id"], ticket=f"TURN-{n}"),
                               headers=keys["support"]).status_code

        def read_stock(_: int) -> int:
            return client.get("/api/v1/stock", headers=keys["support"]).status_code

        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(take_in, range(10))) + list(pool.map(read_stock, range(6)))
            codes += [c.result() for c in [pool.submit(take_in, 100 + n) for n in range(6)]
                      + [pool.submit(read_stock, n) for n in range(6)]]
    assert codes.count(201) == 16 and codes.count(200) == 12, codes
    assert 1 <= seen.peak <= at_once


def test_a_slow_address_check_holds_no_turn_so_other_requests_go_on(make_app, keys):
    with ShippoStandin() as shippo:
        app = make_app(db_work_at_once=1, shippo_api_key="shippo_test_abc", shippo_base_url=shippo.url)
        with uvicorn_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            depot = f.depot(client, keys["admin"], "NYC")
            model = f.model(client, keys["admin"])
            f.unit(client, keys["warehouse"], model["id"], depot["id"])
            client.get("/api/v1/stock", headers=keys["support"]).raise_for_status()
            shippo.delay_next("/addresses", 2.0, method="POST")
            with ThreadPoolExecutor(1) as pool:
                slow = pool.submit(client.post, "/api/v1/swap-requests", headers=keys["support"],
                                   json=swap_body(model["id"], ticket="SLOW-1", worker=US_WORKER))
                deadline = time.monotonic() + 5
                while not shippo.calls("POST", "/addresses"):  # the intake is at the carrier now
                    assert time.monotonic() < deadline, "the intake never reached the carrier"
                    time.sleep(0.01)
                started = time.monotonic()
                stock = client.get("/api/v1/stock", headers=keys["support"])
                waited = time.monotonic() - started
                assert not slow.done()  # still at the carrier while the stock was read
                assert slow.result().status_code == 201, slow.result().text
    assert stock.status_code == 200 and waited < 1.0


class _Done(BaseModel):
    done: bool


def test_a_request_whose_session_and_own_transactions_both_need_a_turn_takes_one(make_app, keys):
    """One turn a request: a route with a request session that also runs its own transactions
    (`idempotent.run`) must not wait for a second turn behind its first — at one turn a process, it
    would wait for ever."""
    app = make_app(db_work_at_once=1)

    def both(request: Request, session: SessionDep, key: Support):
        session.execute(text("SELECT 1"))
        return idempotent.run(request, api_key=key, key=None, payload={},
                              action=lambda own: idempotent.Answer(200, _Done(done=True), {}))

    app.add_api_route("/api/v1/test-both-turns", both, methods=["POST"])
    with uvicorn_in_thread(app) as url, httpx.Client(base_url=url, timeout=5) as client:
        answer = client.post("/api/v1/test-both-turns", headers=keys["support"])
    assert answer.status_code == 200 and answer.json() == {"done": True}
