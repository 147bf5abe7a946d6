"""Swap requests through HTTP and the database: intake, allocation, backorder, waitlist, cancel,
idempotency."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.models import CustodyEntry, IdempotencyRecord, Reservation, SwapRequest
from app.swaps.allocation import Need, WaitingSwap, waitlist_order
from tests.support import factories as f
from tests.support.factories import post_swap, swap_body


@pytest.fixture
def world(client, keys, frozen_clock):
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin, sku="LAT-5440")
    sub = f.model(client, admin, sku="LAT-7440")
    client.patch(f"/api/v1/models/{model['id']}", json={"substitute_ids": [sub["id"]]}, headers=admin)
    return {"lon": lon, "model": model, "sub": sub}


def test_swap_reserves_a_unit_with_a_promised_date_and_ledger(client, keys, world, session_factory):
    unit = f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"])
    r = post_swap(client, keys, swap_body(world["model"]["id"]))
    assert r.status_code == 201, r.text
    swap = r.json()
    assert r.headers["location"] == f"/api/v1/swap-requests/{swap['id']}"
    assert swap["status"] == "allocated" and swap["unit_id"] == unit["id"] and swap["depot_code"] == "LON"
    # Tuesday 09:00 UTC in London is before the 16:00 cut-off: ships today, arrives Wednesday.
    assert swap["ship_date"] == "2026-11-24" and swap["promised_date"] == "2026-11-25"
    assert swap["broken_unit"] == "OLD-123" and swap["is_substitute"] is False
    assert [e["kind"] for e in swap["timeline"]] == ["received", "allocated"]
    got = client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()
    assert got["state"] == "reserved"
    last = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()[-1]
    assert (last["from_state"], last["to_state"], last["reference"]) == ("ready", "reserved", f"swap:{swap['id']}")
    assert swap["tracking_url"].startswith("http://127.0.0.1:8000/t/")
    again = client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["warehouse"]).json()
    assert again["tracking_url"] is None  # stored hashed: shown once
    assert again == {**swap, "tracking_url": None}


def test_after_cutoff_on_friday_ships_monday(client, keys, world, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 27, 17, 0, tzinfo=UTC))  # Friday 17:00 London, after cut-off
    f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"])
    swap = post_swap(client, keys, swap_body(world["model"]["id"])).json()
    assert swap["ship_date"] == "2026-11-30" and swap["promised_date"] == "2026-12-01"


def test_substitute_when_model_is_out_and_stale_only_as_last_resort(client, keys, world):
    prof = f.profile(client, keys["admin"], version="v2")
    stale = f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"],
                   profile_id=prof["id"], profile_version="v1")
    sub = f.unit(client, keys["warehouse"], world["sub"]["id"], world["lon"]["id"],
                 profile_id=prof["id"], profile_version="v2")
    first = post_swap(client, keys, swap_body(world["model"]["id"], ticket="A")).json()
    assert first["unit_id"] == sub["id"] and first["is_substitute"] is True and first["needs_reimage"] is False
    second = post_swap(client, keys, swap_body(world["model"]["id"], ticket="B")).json()
    assert second["unit_id"] == stale["id"] and second["needs_reimage"] is True
    assert "re-imaged" in second["timeline"][-1]["message"]


def test_backorder_then_a_released_unit_goes_to_the_oldest_waiting(client, keys, world, frozen_clock):
    model_id = world["model"]["id"]
    unit = f.unit(client, keys["warehouse"], model_id, world["lon"]["id"])
    holder = post_swap(client, keys, swap_body(model_id, ticket="H")).json()
    waiting = []
    for n in range(3):
        frozen_clock.advance(minutes=5)
        r = post_swap(client, keys, swap_body(model_id, ticket=f"W{n}"))
        assert r.status_code == 201
        waiting.append(r.json())
    assert [w["status"] for w in waiting] == ["backordered"] * 3
    assert [w["waitlist_position"] for w in waiting] == [1, 2, 3]
    assert "number 1 in line" in waiting[0]["timeline"][-1]["message"]
    r = client.post(f"/api/v1/swap-requests/{holder['id']}/cancel", json={"reason": "fixed remotely"},
                    headers=keys["support"])
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["unit_id"] == unit["id"]
    first = client.get(f"/api/v1/swap-requests/{waiting[0]['id']}", headers=keys["support"]).json()
    assert first["status"] == "allocated" and first["unit_id"] == unit["id"]
    assert first["timeline"][-1]["kind"] == "allocated"
    others = [client.get(f"/api/v1/swap-requests/{w['id']}", headers=keys["support"]).json() for w in waiting[1:]]
    assert [(o["status"], o["waitlist_position"]) for o in others] == [("backordered", 1), ("backordered", 2)]
    history = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()
    assert [(h["to_state"], h["reference"]) for h in history[-3:]] == [
        ("reserved", f"swap:{holder['id']}"), ("ready", f"swap:{holder['id']}"), ("reserved", f"swap:{first['id']}")]


def test_deadline_beats_waiting_time_on_the_waitlist(client, keys, world, frozen_clock):
    model_id = world["model"]["id"]
    early = post_swap(client, keys, swap_body(model_id, ticket="EARLY")).json()
    frozen_clock.advance(hours=1)
    urgent = post_swap(client, keys, swap_body(model_id, ticket="URGENT", needed_by="2026-11-26")).json()
    assert (early["status"], urgent["status"]) == ("backordered", "backordered")
    unit = f.unit(client, keys["warehouse"], model_id, world["lon"]["id"])  # new stock arrives ready
    assert client.get(f"/api/v1/swap-requests/{urgent['id']}", headers=keys["support"]).json()["unit_id"] == unit["id"]
    assert client.get(f"/api/v1/swap-requests/{early['id']}", headers=keys["support"]).json()["status"] == "backordered"


def test_waitlist_positions_follow_the_fair_order(client, keys, world, frozen_clock):
    """Each backordered swap's position is its place in allocation.waitlist_order, deadlines (none
    last), then waiting time, then id when both tie."""
    model_id = world["model"]["id"]
    # The clock moves before every other request: Q4 and Q5 tie on deadline and waiting time.
    plan = [None, "2026-12-04", None, "2026-12-01", "2026-12-04", "2026-12-04"]
    swaps = []
    for n, needed_by in enumerate(plan):
        if n % 2 == 0:
            frozen_clock.advance(minutes=10)
        extra = {"needed_by": needed_by} if needed_by else {}
        swaps.append(post_swap(client, keys, swap_body(model_id, ticket=f"Q{n}", **extra)).json())
    assert {s["status"] for s in swaps} == {"backordered"}
    now = {s["id"]: client.get(f"/api/v1/swap-requests/{s['id']}", headers=keys["support"]).json() for s in swaps}
    order = waitlist_order([WaitingSwap(swap_id=s["id"], need=Need(), needed_by=s["needed_by"] and
                                        date.fromisoformat(s["needed_by"]),
                                        waiting_since=datetime.fromisoformat(s["created_at"])) for s in swaps])
    assert [now[w.swap_id]["waitlist_position"] for w in order] == list(range(1, len(swaps) + 1))
    assert [now[w.swap_id]["ticket_id"] for w in order] == ["Q3", "Q1", "Q4", "Q5", "Q0", "Q2"]


def test_refurbished_unit_feeds_the_waitlist(client, keys, world):
    model_id = world["model"]["id"]
    swap = post_swap(client, keys, swap_body(model_id)).json()
    unit = f.unit(client, keys["warehouse"], model_id, world["lon"]["id"], state="refurbishing")
    assert client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()["status"] == "backordered"
    f.wipe(client, keys, unit["id"])
    r = client.post(f"/api/v1/units/{unit['id']}/transitions", json={"target_state": "ready", "reason": "re-imaged"},
                    headers=keys["warehouse"])
    assert r.status_code == 200 and r.json()["state"] == "reserved"
    assert client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()["unit_id"] == unit["id"]


def test_same_ticket_twice_is_409_and_one_swap(client, keys, world, session_factory):
    f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"])
    first = post_swap(client, keys, swap_body(world["model"]["id"])).json()
    r = post_swap(client, keys, swap_body(world["model"]["id"]))
    assert r.status_code == 409 and r.json()["existing_swap_id"] == first["id"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest)) == 1


def test_bad_input_is_a_problem_and_creates_nothing(client, keys, world, session_factory):
    model_id = world["model"]["id"]
    cases = [
        (swap_body(model_id, return_mode="carrier_pigeon"), 422, "return_mode"),
        (swap_body(model_id, needed={}), 422, "needed"),
        (swap_body(model_id, needed={"category": "laptop"}), 422, "needed"),
        ({**swap_body(model_id), "worker": {**swap_body()["worker"], "email": "not-an-email"}}, 422, "worker.email"),
        ({**swap_body(model_id), "worker": {**swap_body()["worker"], "timezone": "Mars/Olympus"}}, 422,
         "worker.timezone"),
        ({**swap_body(model_id), "worker": {**swap_body()["worker"], "phone": "call me"}}, 422, "worker.phone"),
        ({**swap_body(model_id), "worker": {**swap_body()["worker"],
                                              "address": {"street1": "", "city": "X", "postal_code": "1",
                                                          "country": "GBR"}}}, 422, "worker.address.street1"),
        (swap_body(model_id, needed_by="2020-01-01"), 422, "needed_by"),
        (swap_body(999), 404, "model_id"),
    ]
    for body, status, field in cases:
        r = post_swap(client, keys, body)
        assert r.status_code == status, (field, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        fields = [e["field"] for e in problem.get("errors", [])] + [problem.get("field")]
        assert any(x and x.startswith(field) for x in fields), (field, problem)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest)) == 0


def test_warehouse_key_cannot_create_swaps(client, keys, world):
    assert post_swap(client, keys, swap_body(world["model"]["id"]), role="warehouse").status_code == 403
    assert post_swap(client, keys, swap_body(world["model"]["id"]), role="integration").status_code == 201


def test_category_and_profile_request(client, keys, world):
    prof = f.profile(client, keys["admin"], version="1")
    phone_model = f.model(client, keys["admin"], category="phone")
    f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"], profile_id=prof["id"],
           profile_version="1")
    phone = f.unit(client, keys["warehouse"], phone_model["id"], world["lon"]["id"], profile_id=prof["id"],
                   profile_version="1")
    swap = post_swap(client, keys, swap_body(needed={"category": "phone", "profile_id": prof["id"]})).json()
    assert swap["unit_id"] == phone["id"]


# ---- idempotency ----------------------------------------------------------------------------


def test_idempotent_replay_returns_the_first_response_without_its_one_time_link(client, keys, world,
                                                                                  session_factory):
    f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"])
    body = swap_body(world["model"]["id"])
    first = post_swap(client, keys, body, key="k-1")
    again = post_swap(client, keys, dict(reversed(list(body.items()))), key="k-1")
    third = post_swap(client, keys, body, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.headers["location"] == first.headers["location"]
    assert third.content == again.content  # replays are byte for byte the same
    # The replay is the first answer, except the tracking link, which is shown once and not kept.
    first_body, replayed = first.json(), again.json()
    assert first_body["tracking_url"] and first_body["tracking_url_note"] is None
    assert replayed["tracking_url"] is None and "tracking-link" in replayed["tracking_url_note"]
    assert {k: v for k, v in replayed.items() if not k.startswith("tracking_url")} == {
        k: v for k, v in first_body.items() if not k.startswith("tracking_url")}
    # The link handed out first still works: a replay does not replace it.
    assert client.get(first_body["tracking_url"].replace("http://127.0.0.1:8000", "")).status_code == 200
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest)) == 1
        assert s.scalar(select(func.count()).select_from(Reservation)) == 1


def test_the_tracking_link_is_not_kept_in_the_stored_replay(client, keys, world, session_factory):
    f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"])
    first = post_swap(client, keys, swap_body(world["model"]["id"]), key="k-secret")
    token = first.json()["tracking_url"].rsplit("/", 1)[1]
    with session_factory() as s:
        stored = s.scalars(select(IdempotencyRecord)).one()
    assert token.encode() not in stored.response_body and b"/t/" not in stored.response_body
    assert token not in str(stored.response_headers)


def test_idempotency_key_with_a_different_body_is_422(client, keys, world, session_factory):
    post_swap(client, keys, swap_body(world["model"]["id"]), key="k-2")
    r = post_swap(client, keys, swap_body(world["model"]["id"], ticket="OTHER"), key="k-2")
    assert r.status_code == 422 and "different request body" in r.json()["detail"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest)) == 1


def test_error_responses_are_replayed_too(client, keys, world, session_factory):
    body = swap_body(world["model"]["id"])
    post_swap(client, keys, body)
    first = post_swap(client, keys, body, key="k-3")
    assert first.status_code == 409
    client.post(f"/api/v1/swap-requests/{first.json()['existing_swap_id']}/cancel", json={"reason": "x"},
                headers=keys["support"])
    again = post_swap(client, keys, body, key="k-3")  # the ticket is free now, but the key answered already
    assert again.status_code == 409 and again.content == first.content


def test_keys_are_scoped_to_the_caller(client, keys, world, session_factory):
    f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"])
    a = post_swap(client, keys, swap_body(world["model"]["id"], ticket="S1"), key="same", role="support")
    b = post_swap(client, keys, swap_body(world["model"]["id"], ticket="S2"), key="same", role="integration")
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


def test_cancel_a_shipped_swap_is_409(client, keys, world, session_factory):
    unit = f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"])
    swap = post_swap(client, keys, swap_body(world["model"]["id"])).json()
    with session_factory() as s, s.begin():
        s.get(SwapRequest, swap["id"]).status = "shipped"
    r = client.post(f"/api/v1/swap-requests/{swap['id']}/cancel", json={"reason": "x"}, headers=keys["support"])
    assert r.status_code == 409 and r.json()["current_status"] == "shipped"
    assert client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()["state"] == "reserved"
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CustodyEntry).where(CustodyEntry.unit_id == unit["id"])) == 2


def test_domestic_depot_wins_over_older_stock_abroad(client, keys, world):
    nyc = f.depot(client, keys["admin"], "NYC")
    f.unit(client, keys["warehouse"], world["model"]["id"], nyc["id"], configured_at="2026-01-01T00:00:00Z")
    home = f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"],
                  configured_at="2026-11-01T00:00:00Z")
    # The worker is in GB and allows a border crossing: the domestic depot still wins.
    swap = post_swap(client, keys, swap_body(world["model"]["id"], allow_cross_border=True)).json()
    assert swap["unit_id"] == home["id"] and swap["depot_code"] == "LON"
    abroad = post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-2", allow_cross_border=True)).json()
    # Ships Tuesday from New York, two business days across the border; Thursday is Thanksgiving there.
    assert abroad["depot_code"] == "NYC" and abroad["promised_date"] == "2026-11-27"


def test_the_journey_shows_the_time_between_touchpoints(client, keys, world, app, frozen_clock):
    from app.jobs import work

    f.unit(client, keys["warehouse"], world["model"]["id"], world["lon"]["id"])
    created = post_swap(client, keys, swap_body(world["model"]["id"])).json()
    frozen_clock.advance(minutes=90)
    work.run_outbox(app.state.session_factory, app.state.carrier)
    timeline = client.get(f"/api/v1/swap-requests/{created['id']}", headers=keys["support"]).json()["timeline"]
    assert [t["kind"] for t in timeline][:2] == ["received", "allocated"]
    assert timeline[0]["since_previous_seconds"] is None
    assert timeline[1]["since_previous_seconds"] == 0  # reserved in the same instant
    assert timeline[-1]["kind"] == "label_booked" and timeline[-1]["since_previous_seconds"] == 90 * 60
