"""Real concurrent requests against a real server on PostgreSQL: never one unit for two swaps."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select, text

from app.models import CustodyEntry, Reservation, SpareUnit, SwapRequest
from tests.support import factories as f
from tests.support import http
from tests.support.factories import swap_body

pytestmark = [pytest.mark.postgres_only, pytest.mark.live_db]

REQUESTS, UNITS, ROUNDS = 64, 10, 3


def _fire(url: str, headers: dict, bodies: list[dict], keys: list[str | None]) -> list[httpx.Response]:
    def one(i):
        with http.client(base_url=url, timeout=60) as c:
            h = {**headers, **({"Idempotency-Key": keys[i]} if keys[i] else {})}
            return c.post("/api/v1/swap-requests", json=bodies[i], headers=h)

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        return list(pool.map(one, range(len(bodies))))


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_64_concurrent_requests_for_10_units(client, keys, live_server, session_factory, round_no):
    admin = keys["admin"]
    depots = [f.depot(client, admin, "LON"), f.depot(client, admin, "NYC")]
    model = f.model(client, admin)
    unit_ids = {f.unit(client, keys["warehouse"], model["id"], depots[i % 2]["id"])["id"] for i in range(UNITS)}
    # Any depot may serve (the stock is split between two countries).
    bodies = [swap_body(model["id"], ticket=f"R{round_no}-{i}", allow_cross_border=True) for i in range(REQUESTS)]

    responses = _fire(live_server, keys["support"], bodies, [None] * REQUESTS)

    assert [r.status_code for r in responses] == [201] * REQUESTS, [r.text for r in responses if r.status_code != 201]
    statuses = Counter(r.json()["status"] for r in responses)
    assert statuses == {"allocated": UNITS, "backordered": REQUESTS - UNITS}
    allocated = [r.json()["unit_id"] for r in responses if r.json()["status"] == "allocated"]
    assert len(set(allocated)) == UNITS and set(allocated) == unit_ids
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Reservation).where(Reservation.active)) == UNITS
        assert set(s.scalars(select(SpareUnit.state))) == {"reserved"}
        # Ledger: each unit has exactly created → reserved, and the reservation names its swap.
        for unit_id in unit_ids:
            chain = s.execute(select(CustodyEntry.from_state, CustodyEntry.to_state, CustodyEntry.reference)
                              .where(CustodyEntry.unit_id == unit_id).order_by(CustodyEntry.id)).all()
            assert [(a, b) for a, b, _ in chain] == [(None, "ready"), ("ready", "reserved")]
            swap_id = int(chain[-1][2].split(":")[1])
            assert s.get(SwapRequest, swap_id).unit_id == unit_id
        dupes = s.execute(text("SELECT unit_id FROM swap_requests WHERE unit_id IS NOT NULL "
                               "GROUP BY unit_id HAVING count(*) > 1")).all()
        assert dupes == []


def test_concurrent_replays_of_one_key_make_one_swap(client, keys, live_server, session_factory):
    depot = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    body = swap_body(model["id"], ticket="SAME")

    responses = _fire(live_server, keys["support"], [body] * 16, ["one-key"] * 16)

    assert {r.status_code for r in responses} == {201}
    replays = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    (first,) = [r for r in responses if r not in replays]
    assert len(replays) == 15 and len({r.content for r in replays}) == 1  # byte for byte the same
    # The first answer alone carries the one-time tracking link; otherwise it is the replays' answer.
    assert first.json() | {"tracking_url": None, "tracking_url_note": None} == \
        replays[0].json() | {"tracking_url": None, "tracking_url_note": None}
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest)) == 1


def test_one_ticket_posted_sixteen_times_at_once_makes_one_swap_and_fifteen_409s_naming_it(
        client, keys, live_server, session_factory):
    """No read before the insert: the unique index settles the twins, and each loser's 409 names the winner."""
    depot = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    body = swap_body(model["id"], ticket="TWIN")

    responses = _fire(live_server, keys["support"], [body] * 16, [None] * 16)

    assert sorted(r.status_code for r in responses) == [201] + [409] * 15, [r.text for r in responses]
    (made,) = [r.json() for r in responses if r.status_code == 201]
    assert {r.json()["existing_swap_id"] for r in responses if r.status_code == 409} == {made["id"]}
    assert {r.headers["content-type"] for r in responses if r.status_code == 409} == {"application/problem+json"}
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest)) == 1
