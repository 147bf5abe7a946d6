"""Service metrics through HTTP on a known week: eight swaps made, shipped, answered and returned through
the API, the courier's webhooks and the real background jobs (`run_due`) on a controllable clock. The
expected figures are worked out by hand below, never read from the code under test.

The week (Tuesday 24 – Monday 30 November 2026; London is on UTC then, so every time below is both):

  swap  requested        model  depot  what happens
  A     Tue 09:00        M1     LON    delivered Wed 11:00 (promised Wed); "yes", score 5 Thu 10:30; old
                                       device scanned in Fri 11:00, charger missing (a discrepancy)
  D     Tue 09:30        M2     LON    booked, then cancelled at 09:45 (its unit goes back to stock)
  B     Tue 10:00        M1     LON    delivered Thu 14:00 (promised Wed: late); "no", score 2 Fri 10:30
                                       (exception, escalated); old device scanned in Mon 09:00
  C     Tue 11:00        M1     LON    no stock: waitlisted; served Wed 09:00 by a new unit (promised
                                       Thu); delivered Thu 12:00; never answers
  G     Tue 12:00        M3     NYC    a Chicago worker (07:00 in New York, before its 17:00 cut-off),
                                       promised Wed; delivered Thu 01:30 UTC = Wed 19:30 in Chicago
  F     Tue 17:00        M2     LON    after London's 16:00 cut-off: D's unit, ships Wed, promised Thu;
                                       delivered Thu 09:00; "yes", score 4 Fri 10:15 (closed)
  E     Thu 10:00        M1     -      no stock: still waiting
  H     Fri 13:00        M1     -      no stock: still waiting

The figures are taken Monday 30 November 12:00, after the background jobs ran (they escalate E, on the
waitlist over a business day, and B, an exception open over four business hours)."""

import re
from datetime import UTC, datetime

import pytest

from app import clock
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.factories import post_swap, scan, swap_body
from tests.support.loop import run_due

URL = "/api/v1/metrics/service"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the week of the scenario (November 2026, UTC = London time)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def metrics(client, keys, **params) -> dict:
    r = client.get(URL, params=params, headers=keys["warehouse"])
    assert r.status_code == 200, r.text
    return r.json()


def answer(client, tracking_url, choice, **form):
    """The worker answers "is it working?" on their tracking page."""
    path = tracking_url.replace("http://127.0.0.1:8000", "")
    token = re.search(r'name="form_token" value="([0-9a-f]+)"',
                      client.get(f"{path}/followup?answer={choice}").text).group(1)
    r = client.post(f"{path}/followup", data={"answer": choice, "form_token": token, **form}, follow_redirects=False)
    assert r.status_code == 303, r.text


@pytest.fixture(scope="module")
def built_week(module_service):
    """The week, made once for the module's tests (which only read it) on a database of their own."""
    client, keys, app = module_service.client, module_service.keys, module_service.app
    frozen_clock = FrozenClock(at(24, 9))
    clock.set_clock(frozen_clock)
    try:
        return {"client": client, "keys": keys, **_make_week(client, keys, app, frozen_clock)}
    finally:
        clock.set_clock(None)


@pytest.fixture
def week(built_week, frozen_clock):
    frozen_clock.set(at(30, 12))  # when the figures are taken
    return built_week


def _make_week(client, keys, app, frozen_clock) -> dict:
    admin, warehouse = keys["admin"], keys["warehouse"]
    lon, nyc = f.depot(client, admin, "LON"), f.depot(client, admin, "NYC")
    m1, m2, m3 = (f.model(client, admin, sku=sku) for sku in ("LAT-M1", "LAT-M2", "LAT-M3"))

    def spare(model, depot):
        f.unit(client, warehouse, model["id"], depot["id"], box_contents=["charger"])

    def request(when, ticket, model, mode="no_return", **over):
        frozen_clock.set(when)
        created = post_swap(client, keys, swap_body(model["id"], ticket=ticket, return_mode=mode, **over))
        assert created.status_code == 201, created.text
        if created.json()["status"] == "allocated":
            run_due(app)  # the courier is booked
        return created.json()

    def courier(swap, status, when):
        frozen_clock.set(when)
        got = client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
        number = next(s["tracking_number"] for s in got["shipments"] if s["direction"] == "outbound")
        assert f.hook(client, number, status, when).status_code == 200

    for model, depot in ((m1, lon), (m1, lon), (m2, lon), (m3, nyc)):
        spare(model, depot)
    a = request(at(24, 9), "A", m1, "swap_at_door", broken_unit="OLD-A")
    d = request(at(24, 9, 30), "D", m2, "return_box", broken_unit="OLD-D")
    frozen_clock.set(at(24, 9, 45))
    assert client.post(f"/api/v1/swap-requests/{d['id']}/cancel", json={"reason": "fixed itself"},
                       headers=keys["support"]).status_code == 200
    run_due(app)
    b = request(at(24, 10), "B", m1, "return_box", broken_unit="OLD-B")
    c = request(at(24, 11), "C", m1)
    g = request(at(24, 12), "G", m3, worker=f.US_WORKER)
    courier(a, "TRANSIT", at(24, 17))
    courier(b, "TRANSIT", at(24, 17))
    fl = request(at(24, 17), "F", m2)
    courier(g, "TRANSIT", at(24, 20))
    assert [x["status"] for x in (a, d, b, c, g, fl)] == ["allocated"] * 3 + ["backordered", "allocated", "allocated"]

    frozen_clock.set(at(25, 9))
    spare(m1, lon)  # C, at the head of the line, gets it at once
    run_due(app)
    courier(a, "DELIVERED", at(25, 11))
    courier(c, "TRANSIT", at(25, 17))
    courier(fl, "TRANSIT", at(25, 17))

    frozen_clock.set(at(26, 0, 30))  # Thursday 00:30: Wednesday is over in London, not yet in Chicago
    # A: delivered Wednesday, its next business day: met. B and C: Wednesday is over, not delivered:
    # counted, not met. G: not delivered and still Wednesday 18:30 in Chicago: not decided yet, left out.
    # F: requested after the cut-off, D: cancelled: never counted.
    assert metrics(client, keys)["next_business_day"] == {"counted": 3, "met": 1, "share": 0.3333}  # 1/3

    courier(g, "DELIVERED", at(26, 1, 30))
    courier(fl, "DELIVERED", at(26, 9))
    e = request(at(26, 10), "E", m1)
    frozen_clock.set(at(26, 10, 30))
    answer(client, a["tracking_url"], "yes", score="5")
    courier(c, "DELIVERED", at(26, 12))
    courier(b, "DELIVERED", at(26, 14))

    frozen_clock.set(at(27, 10, 15))
    answer(client, fl["tracking_url"], "yes", score="4")
    frozen_clock.set(at(27, 10, 30))
    answer(client, b["tracking_url"], "no", score="2", comment="the screen flickers")
    frozen_clock.set(at(27, 11))
    received = scan(client, keys, "OLD-A", lon["id"])
    assert received["action"] == "received", received
    frozen_clock.set(at(27, 11, 5))
    r = client.post(f"/api/v1/returns/{received['expected_return_id']}/inspection",
                    json={"items_present": ["device"]}, headers=warehouse)
    assert r.status_code == 200 and r.json()["outcome"] == "missing_items", r.text
    h = request(at(27, 13), "H", m1)
    assert (e["status"], h["status"]) == ("backordered", "backordered")

    frozen_clock.set(at(30, 9))
    assert scan(client, keys, "OLD-B", lon["id"])["action"] == "received"
    frozen_clock.set(at(30, 12))
    run_due(app)  # the sweeps of the moment: escalations
    return {"lon": lon, "nyc": nyc, "swaps": {"A": a, "B": b, "C": c, "D": d, "E": e, "F": fl, "G": g, "H": h}}


NO_SWAPS = dict.fromkeys(["received", "allocated", "backordered", "label_booked", "shipped", "delivered",
                          "return_in_transit", "returned", "closed", "cancelled", "exception"], 0)


def test_the_week_in_figures(week):
    client, keys = week["client"], week["keys"]
    got = metrics(client, keys)
    assert got == {
        "since": "2026-10-31T12:00:00Z",  # 30 days before now
        "until": "2026-11-30T12:00:00Z",  # now
        "depot_id": None,
        "model_id": None,
        "as_of": "2026-11-30T12:00:00Z",
        "swaps": {
            "requested": 8,  # A B C D E F G H, the cancelled D included
            # A (return checked in) and F (a yes, nothing to return) closed; C and G delivered, never
            # answered; B reopened by its "no"; E and H waiting; D cancelled.
            "by_status": {**NO_SWAPS, "closed": 2, "delivered": 2, "exception": 1, "backordered": 2, "cancelled": 1},
        },
        # Delivered: A B C F G (D is cancelled, E and H wait). Delivery day ≤ promised_date:
        # A Wed ≤ Wed, C Thu ≤ Thu, F Thu ≤ Thu, G Wed (19:30 in Chicago; Thu by UTC) ≤ Wed; B Thu > Wed.
        "delivered_by_promised_day": {"counted": 5, "met": 4, "share": 0.8},  # 4/5
        # Requested before the cut-off on a business day, domestic: A B C (LON, 16:00) and G (NYC, 17:00
        # New York; G was 07:00 there). F came after the cut-off; D cancelled; E and H have no depot.
        # Next business day Wed 25: A (Wed) and G (Wed, Chicago) met; B (Thu) and C (Thu) did not.
        "next_business_day": {"counted": 4, "met": 2, "share": 0.5},  # 2/4
        "time_to_working": {
            # request → delivered: A Tue 09:00→Wed 11:00 = 26, G Tue 12:00→Thu 01:30 = 37.5,
            # F Tue 17:00→Thu 09:00 = 40, C Tue 11:00→Thu 12:00 = 49, B Tue 10:00→Thu 14:00 = 52.
            # Sorted [26, 37.5, 40, 49, 52]: median rank ⌈5/2⌉ = 3 → 40; p90 rank ⌈4.5⌉ = 5 → 52;
            # p99 rank ⌈4.95⌉ = 5 → 52.
            "delivered": {"count": 5, "median_hours": 40.0, "p90_hours": 52.0, "p99_hours": 52.0},
            # request → a working "yes": A Tue 09:00→Thu 10:30 = 49.5, F Tue 17:00→Fri 10:15 = 65.25
            # (B said no). Sorted [49.5, 65.25]: median rank ⌈1⌉ = 1 → 49.5; p90 rank ⌈1.8⌉ = 2 → 65.25;
            # p99 rank ⌈1.98⌉ = 2 → 65.25.
            "working": {"count": 2, "median_hours": 49.5, "p90_hours": 65.25, "p99_hours": 65.25},
        },
        # Ever waitlisted: C (served Wed), E, H; waiting now: E since Thu 10:00 (98 h), H since Fri 13:00
        # (71 h). Sorted [71, 98]: median rank 1 → 71; the longest 98.
        "backorders": {"ever": 3, "waiting": 2, "waiting_median_hours": 71.0, "waiting_max_hours": 98.0},
        # delivered → old device scanned in: A Wed 11:00→Fri 11:00 = 48, B Thu 14:00→Mon 09:00 = 91.
        # Sorted [48, 91]: median rank 1 → 48; p90 rank ⌈1.8⌉ = 2 → 91; p99 rank ⌈1.98⌉ = 2 → 91.
        "return_lag": {"count": 2, "median_hours": 48.0, "p90_hours": 91.0, "p99_hours": 91.0},
        "open_discrepancies": 1,  # A's missing charger
        "unreturned": 0,
        # Asked by now: A (Thu 10:00), B C F (Fri 10:00 London), G (Fri 10:00 Chicago: Thanksgiving Thursday
        # is no business day). Answered: A 5, F 4, B 2 → 3/5 = 0.6; mean score 11/3 = 3.67.
        "follow_up": {"asked": 5, "answered": 3, "answer_rate": 0.6, "average_score": 3.67},
        # B's "no" (at once) and its exception open since Fri 10:30 (over 4 business hours by Mon); E on the
        # waitlist past a business day (Fri 10:00). H's business day ends Mon 13:00: not yet.
        "escalations_by_rule": {"backordered_too_long": 1, "exception_open": 1, "followup_not_working": 1},
    }


def test_a_depot_keeps_the_swaps_it_served(week):
    client, keys = week["client"], week["keys"]
    lon = metrics(client, keys, depot_id=week["lon"]["id"])
    assert lon["depot_id"] == week["lon"]["id"]
    # Served from London: A B C D F (E and H were never served; G came from New York).
    assert lon["swaps"] == {"requested": 5, "by_status": {**NO_SWAPS, "closed": 2, "delivered": 1, "exception": 1,
                                                         "cancelled": 1}}
    assert lon["delivered_by_promised_day"] == {"counted": 4, "met": 3, "share": 0.75}  # A C F of A B C F
    assert lon["next_business_day"] == {"counted": 3, "met": 1, "share": 0.3333}  # A of A B C
    # [26, 40, 49, 52]: median rank 2 → 40; p90 rank ⌈3.6⌉ = 4 → 52.
    assert lon["time_to_working"]["delivered"] == {"count": 4, "median_hours": 40.0, "p90_hours": 52.0,
                                                   "p99_hours": 52.0}  # p99 rank ⌈3.96⌉ = 4
    assert lon["backorders"] == {"ever": 1, "waiting": 0, "waiting_median_hours": None, "waiting_max_hours": None}
    assert lon["follow_up"] == {"asked": 4, "answered": 3, "answer_rate": 0.75, "average_score": 3.67}
    assert lon["escalations_by_rule"] == {"exception_open": 1, "followup_not_working": 1}

    nyc = metrics(client, keys, depot_id=week["nyc"]["id"])  # G alone
    assert nyc["swaps"] == {"requested": 1, "by_status": {**NO_SWAPS, "delivered": 1}}
    assert (nyc["delivered_by_promised_day"], nyc["next_business_day"]) == (
        {"counted": 1, "met": 1, "share": 1.0}, {"counted": 1, "met": 1, "share": 1.0})
    assert nyc["time_to_working"]["delivered"] == {"count": 1, "median_hours": 37.5, "p90_hours": 37.5,
                                                   "p99_hours": 37.5}
    assert nyc["follow_up"] == {"asked": 1, "answered": 0, "answer_rate": 0.0, "average_score": None}
    assert nyc["return_lag"] == {"count": 0, "median_hours": None, "p90_hours": None, "p99_hours": None}
    assert nyc["escalations_by_rule"] == {}


def test_a_model_keeps_the_swaps_that_asked_for_it(week):
    client, keys = week["client"], week["keys"]
    m1, m2 = week["swaps"]["A"]["model_id"], week["swaps"]["F"]["model_id"]
    first = metrics(client, keys, model_id=m1)
    assert first["model_id"] == m1
    assert first["swaps"]["requested"] == 5  # A B C E H
    second = metrics(client, keys, model_id=m2)
    assert second["swaps"]["requested"] == 2  # D (cancelled) and F
    assert second["next_business_day"]["counted"] == 0  # F asked at 17:00, after the cut-off; D is cancelled
    both = metrics(client, keys, model_id=m1, depot_id=week["nyc"]["id"])
    assert both["swaps"]["requested"] == 0  # New York served only G, which asked for another model
    assert client.get(URL, params={"model_id": 999999}, headers=keys["support"]).status_code == 404


def test_the_window_holds_swaps_requested_from_since_up_to_but_not_at_until(week):
    client, keys = week["client"], week["keys"]
    # 11:00+01:00 is 10:00 UTC: B (10:00) and C (11:00) are in; G at 12:00 is not.
    got = metrics(client, keys, since="2026-11-24T11:00:00+01:00", until="2026-11-24T12:00:00Z")
    assert (got["since"], got["until"]) == ("2026-11-24T10:00:00Z", "2026-11-24T12:00:00Z")
    assert got["swaps"] == {"requested": 2, "by_status": {**NO_SWAPS, "exception": 1, "delivered": 1}}
    assert got["delivered_by_promised_day"] == {"counted": 2, "met": 1, "share": 0.5}  # C on time, B late
    assert got["next_business_day"] == {"counted": 2, "met": 0, "share": 0.0}  # both Thursday
    assert got["backorders"]["ever"] == 1  # C
    assert got["escalations_by_rule"] == {"exception_open": 1, "followup_not_working": 1}  # B's

    only_a = metrics(client, keys, since="2026-11-24T09:00:00Z", until="2026-11-24T09:30:00Z")  # D at 09:30 out
    assert only_a["swaps"]["requested"] == 1 and only_a["time_to_working"]["working"]["count"] == 1

    empty = metrics(client, keys, since="2026-11-01T00:00:00Z", until="2026-11-24T09:00:00Z")
    assert empty["swaps"] == {"requested": 0, "by_status": NO_SWAPS}
    assert empty["delivered_by_promised_day"] == empty["next_business_day"] == {"counted": 0, "met": 0,
                                                                                "share": None}
    assert empty["time_to_working"]["delivered"] == {"count": 0, "median_hours": None, "p90_hours": None,
                                                     "p99_hours": None}
    assert empty["follow_up"] == {"asked": 0, "answered": 0, "answer_rate": None, "average_score": None}

    # Only `since`: up to now. Only `until`: the 30 days before it.
    assert metrics(client, keys, since="2026-11-27T00:00:00Z")["until"] == "2026-11-30T12:00:00Z"
    assert metrics(client, keys, since="2026-11-27T00:00:00Z")["swaps"]["requested"] == 1  # H
    assert metrics(client, keys, until="2026-11-25T00:00:00Z")["since"] == "2026-10-26T00:00:00Z"


def test_an_unreturned_device_and_its_overdue_flag_count_for_the_swap(client, keys, app, frozen_clock):
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin)
    f.unit(client, keys["warehouse"], model["id"], lon["id"], box_contents=["charger"])
    created = post_swap(client, keys, swap_body(model["id"], return_mode="return_box", broken_unit="OLD-9"))
    run_due(app)
    number = next(s["tracking_number"] for s in client.get(f"/api/v1/swap-requests/{created.json()['id']}",
                  headers=keys["support"]).json()["shipments"] if s["direction"] == "outbound")
    frozen_clock.set(at(25, 11))
    f.hook(client, number, "DELIVERED", at(25, 11))
    run_due(app)
    # Due back Wed 9 December (ten business days); unreturned fifteen business days after that
    # (Christmas and Boxing Day skipped): Mon 4 January.
    frozen_clock.set(datetime(2027, 1, 4, 10, 0, tzinfo=UTC))
    run_due(app)
    got = metrics(client, keys, since="2026-11-24T00:00:00Z")  # requested before the default window
    assert (got["unreturned"], got["open_discrepancies"]) == (1, 1)  # the overdue flag is still open
    assert got["return_lag"]["count"] == 0
    assert metrics(client, keys)["unreturned"] == 0  # the last 30 days: another cohort


def test_a_border_crossing_is_promised_two_days_and_left_out_of_next_day(client, keys, app, frozen_clock):
    admin = keys["admin"]
    nyc = f.depot(client, admin, "NYC")
    model = f.model(client, admin, replacement_value="900.00", hs_code="847130", origin_country="CN")  # customs
    f.unit(client, keys["warehouse"], model["id"], nyc["id"])
    created = post_swap(client, keys, swap_body(model["id"], return_mode="no_return",  # a Leeds worker, Tue 09:00
                                                allow_cross_border=True))
    assert created.status_code == 201 and created.json()["depot_code"] == "NYC", created.text
    # 04:00 in New York, before its cut-off: ships Tuesday; two US business days, Thanksgiving skipped.
    assert created.json()["promised_date"] == "2026-11-27"
    run_due(app)
    number = next(s["tracking_number"] for s in client.get(f"/api/v1/swap-requests/{created.json()['id']}",
                  headers=keys["support"]).json()["shipments"] if s["direction"] == "outbound")
    frozen_clock.set(at(27, 12))
    assert f.hook(client, number, "DELIVERED", at(27, 12)).status_code == 200
    got = metrics(client, keys)
    assert got["delivered_by_promised_day"] == {"counted": 1, "met": 1, "share": 1.0}  # Fri ≤ Fri
    assert got["next_business_day"] == {"counted": 0, "met": 0, "share": None}  # not a next-day promise


def _assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


@pytest.mark.parametrize("params,field", [
    ({"since": "2026-11-25T00:00:00Z", "until": "2026-11-24T00:00:00Z"}, "since"),  # since after until
    ({"since": "2026-11-24T00:00:00Z", "until": "2026-11-24T00:00:00Z"}, "since"),  # an empty window
    ({"since": "2025-01-01T00:00:00Z", "until": "2026-11-24T00:00:00Z"}, "since"),  # over 366 days
    ({"since": "2026-11-24T00:00:00"}, "since"),  # no offset: which day would it be?
    ({"until": "yesterday"}, "until"),
    ({"depot_id": "0"}, "depot_id"),
])
def test_a_bad_window_or_depot_is_a_422_naming_the_field(client, keys, frozen_clock, params, field):
    body = _assert_problem(client.get(URL, params=params, headers=keys["support"]), 422)
    named = [body["field"]] if "field" in body else [e["field"] for e in body["errors"]]  # ours / pydantic's
    assert named == [field], body


def test_an_unknown_depot_is_a_404(client, keys, frozen_clock):
    body = _assert_problem(client.get(URL, params={"depot_id": 999}, headers=keys["support"]), 404)
    assert "depot" in body["detail"]


def test_percentiles_are_nearest_rank_in_sql(session_factory):
    # 1 h … 20 h: the median is rank ⌈10⌉ = 10, p90 rank ⌈18⌉ = 18, p99 rank ⌈19.8⌉ = 20, on either database.
    from sqlalchemy import literal, select, union_all

    from app.metrics.service import _durations

    hours = union_all(*(select(literal(h * 3600).label("seconds")) for h in (7, 3, 20, 1, 12, 15, 9, 18, 2, 11,
                                                                              5, 16, 4, 19, 8, 13, 6, 17, 10, 14)))
    with session_factory() as session:
        measured = _durations(session, select(hours.subquery().c.seconds))
    assert (measured.count, measured.median, measured.p90, measured.p99, measured.longest) == (20, 10.0, 18.0, 20.0,
                                                                                                20.0)
