"""Keeping people in the loop, through HTTP and the database, on a controllable clock: what the worker
is told and when (quiet hours, delivery-day news), the follow-up and its answers, return chasing up to
a charge-back, the daily word to the waitlist, and escalation of swaps that linger."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import Notification
from app.shipping.carrier import Tracking, TrackingEvent
from app.shipping.simulated import make_webhook_payload
from tests.support import factories as f
from tests.support.arrange import out_with_a_worker, raise_priority
from tests.support.factories import WEBHOOK_SECRET, post_swap, scan, swap_body
from tests.support.loop import run_due

TUESDAY_9_LONDON = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # GMT in November: London time = UTC


@pytest.fixture
def world(client, keys, frozen_clock):
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin, sku="LAT-5440", name="Latitude 5440", replacement_value="950.00", currency="GBP")

    def spare(**over):
        return f.unit(client, keys["warehouse"], model["id"], lon["id"], box_contents=["charger"], **over)

    return {"lon": lon, "model": model, "spare": spare}


def swap(client, keys, world, **over):
    created = post_swap(client, keys, swap_body(world["model"]["id"], **over))
    assert created.status_code == 201, created.text
    return created.json()


def notes(client, keys, swap_id, **params) -> list[dict]:
    r = client.get("/api/v1/notifications", params={"swap_id": swap_id, "limit": 200, **params},
                   headers=keys["support"])
    assert r.status_code == 200, r.text
    return r.json()["items"]


def sent(client, keys, swap_id) -> list[str]:
    """The kinds sent, in the order they went out."""
    done = [n for n in notes(client, keys, swap_id) if n["status"] == "sent"]
    return [n["kind"] for n in sorted(done, key=lambda n: (n["sent_at"], n["id"]))]


def shipments(client, keys, swap_id) -> dict[str, dict]:
    got = client.get(f"/api/v1/swap-requests/{swap_id}", headers=keys["support"]).json()
    return {s["direction"]: s for s in got["shipments"]}


def courier_says(client, tracking_number, status, at, substatus=None, details=""):
    event = TrackingEvent(status=status, status_details=details or status.lower(), status_date=at, substatus=substatus)
    payload = make_webhook_payload(Tracking(carrier="simulated", tracking_number=tracking_number, status=status,
                                            events=[event]))
    payload["test"] = False
    assert client.post(f"/webhooks/shippo/{WEBHOOK_SECRET}", json=payload).status_code == 200


def page(client, tracking_url, suffix=""):
    return client.get(tracking_url.replace("http://127.0.0.1:8000", "") + suffix)


# ---- what the worker hears, and when -------------------------------------------------------------


def test_each_step_is_told_once_at_its_time_with_what_happens_next(client, keys, world, app, frozen_clock):
    world["spare"]()
    s = swap(client, keys, world, return_mode="return_box")
    run_due(app)
    assert sent(client, keys, s["id"]) == ["received", "courier_booked"]
    run_due(app)
    assert sent(client, keys, s["id"]) == ["received", "courier_booked"]  # not twice

    out = shipments(client, keys, s["id"])["outbound"]["tracking_number"]
    frozen_clock.set(datetime(2026, 11, 25, 7, 10, tzinfo=UTC))  # Wednesday, before working hours
    courier_says(client, out, "TRANSIT", frozen_clock.at, substatus="out_for_delivery", details="Out for delivery")
    courier_says(client, out, "DELIVERED", frozen_clock.at + timedelta(minutes=5))
    run_due(app)
    assert sent(client, keys, s["id"])[2:] == ["out_for_delivery", "delivered"]  # delivery-day news: at once

    frozen_clock.set(datetime(2026, 11, 26, 9, 59, tzinfo=UTC))  # Thursday, one minute early
    run_due(app)
    assert "followup" not in sent(client, keys, s["id"])
    frozen_clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))  # 10:00 London, one business day after
    run_due(app)
    run_due(app)
    assert sent(client, keys, s["id"]) == ["received", "courier_booked", "out_for_delivery", "delivered", "followup"]

    by_kind = {n["kind"]: n for n in notes(client, keys, s["id"])}
    received = by_kind["received"]
    assert received["subject"] == "We have your request: a replacement arrives Wednesday 25 November"
    assert received["recipient"] == "ana@example.com" and received["delivered_by"] == "local outbox"
    assert "Hi Ana," in received["body_text"] and "Latitude 5440" in received["body_text"]
    assert "leaves Tuesday 24 November" in received["body_text"]
    # The link is the worker's: what is kept shows where it was, never the link itself.
    assert "/t/<link>" in received["body_text"] and "/t/<link>" in received["body_html"]
    assert not re.search(r"/t/[A-Za-z0-9_-]{20,}", received["body_text"] + received["body_html"])
    booked = by_kind["courier_booked"]["body_text"]
    assert "Demo Courier" in booked and "the device, charger" in booked and "prepaid return label" in booked
    delivered = by_kind["delivered"]["body_text"]
    assert "Send the old one back by Wednesday 9 December with the prepaid label" in delivered
    followup = by_kind["followup"]["body_text"]
    assert "/t/<link>/followup?answer=yes" in followup and "/t/<link>/followup?answer=no" in followup


def test_quiet_hours_hold_messages_until_eight_local_but_not_delivery_news(client, keys, world, app, frozen_clock):
    world["spare"]()
    frozen_clock.set(datetime(2026, 11, 24, 21, 30, tzinfo=UTC))  # Tuesday 21:30 in London
    s = swap(client, keys, world)
    run_due(app)
    held = {n["kind"]: n for n in notes(client, keys, s["id"])}
    assert held["received"]["status"] == "queued"
    assert held["received"]["held_until"] == "2026-11-25T08:00:00Z"
    assert held["courier_booked"]["status"] == "queued"  # booked at once; told in the morning
    frozen_clock.set(datetime(2026, 11, 25, 7, 59, tzinfo=UTC))
    run_due(app)
    assert sent(client, keys, s["id"]) == []
    out = shipments(client, keys, s["id"])["outbound"]["tracking_number"]
    courier_says(client, out, "DELIVERED", frozen_clock.at)
    run_due(app)
    assert sent(client, keys, s["id"]) == ["delivered"]  # delivery-day news does not wait
    frozen_clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    run_due(app)
    assert sorted(sent(client, keys, s["id"])) == ["courier_booked", "delivered", "received"]


def test_a_worker_in_new_york_is_held_to_eight_in_new_york(client, keys, world, app, frozen_clock):
    world["spare"]()
    frozen_clock.set(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))  # 07:00 in New York
    s = swap(client, keys, world, worker={**swap_body()["worker"], "timezone": "America/New_York"})
    run_due(app)
    assert {n["held_until"] for n in notes(client, keys, s["id"])} == {"2026-11-24T13:00:00Z"}


# ---- the follow-up ---------------------------------------------------------------------------------


@pytest.fixture
def delivered(client, keys, world, app, frozen_clock):
    def make(return_mode="swap_at_door", **over):
        world["spare"]()
        s = swap(client, keys, world, return_mode=return_mode, **over)
        run_due(app)
        out = shipments(client, keys, s["id"])["outbound"]["tracking_number"]
        frozen_clock.set(datetime(2026, 11, 25, 5, 0, tzinfo=UTC))  # Wednesday 05:00
        courier_says(client, out, "DELIVERED", frozen_clock.at)
        run_due(app)
        return s
    return make


def answer(client, tracking_url, choice, **form):
    form_page = page(client, tracking_url, f"/followup?answer={choice}")
    assert form_page.status_code == 200 and 'name="form_token"' in form_page.text
    token = re.search(r'name="form_token" value="([0-9a-f]+)"', form_page.text).group(1)
    return client.post(tracking_url.replace("http://127.0.0.1:8000", "") + "/followup",
                       data={"answer": choice, "form_token": token, **form}, follow_redirects=False)


def test_a_no_reopens_the_swap_escalates_it_and_tells_support(client, keys, delivered, app):
    s = delivered()
    r = answer(client, s["tracking_url"], "no", score="1", comment="It will not boot")
    assert r.status_code == 303 and r.headers["location"] == s["tracking_url"].replace("http://127.0.0.1:8000", "")
    got = client.get(f"/api/v1/swap-requests/{s['id']}", headers=keys["support"]).json()
    assert got["status"] == "exception" and got["priority"] == 1
    assert got["follow_up"]["answer"] == "no" and got["follow_up"]["score"] == 1
    assert got["follow_up"]["comment"] == "It will not boot" and got["follow_up"]["outcome"] == "not_working"
    assert [e["rule"] for e in got["escalations"]] == ["followup_not_working"]
    run_due(app)
    support = notes(client, keys, s["id"], audience="support")
    assert support and all(n["status"] == "sent" for n in support)
    assert any("does not work" in n["body_text"] and "It will not boot" in n["body_text"] for n in support)
    assert "does not work (you gave it 1 out of 5)" in page(client, s["tracking_url"]).text
    queue = client.get("/api/v1/swap-requests", params={"escalated": "true", "order": "priority"},
                       headers=keys["support"]).json()["items"]
    assert [x["id"] for x in queue] == [s["id"]]


def test_a_yes_with_a_score_is_stored_and_shown_and_a_low_score_counts_as_not_working(client, keys, delivered):
    happy = delivered()
    assert answer(client, happy["tracking_url"], "yes", score="4", comment="Quick, thanks").status_code == 303
    got = client.get(f"/api/v1/swap-requests/{happy['id']}", headers=keys["support"]).json()
    assert got["status"] == "delivered" and got["priority"] == 0  # the old device still has to come back
    assert (got["follow_up"]["answer"], got["follow_up"]["score"], got["follow_up"]["outcome"]) == ("yes", 4, "working")
    shown = page(client, happy["tracking_url"]).text
    assert "works (you gave it 4 out of 5)" in shown and 'id="working"' not in shown
    grudging = delivered(ticket="IT-2")
    assert answer(client, grudging["tracking_url"], "yes", score="2").status_code == 303
    assert client.get(f"/api/v1/swap-requests/{grudging['id']}", headers=keys["support"]).json()["status"] == \
        "exception"


def test_a_yes_closes_a_swap_with_nothing_to_return(client, keys, delivered):
    s = delivered(return_mode="no_return")
    answer(client, s["tracking_url"], "yes")
    assert client.get(f"/api/v1/swap-requests/{s['id']}", headers=keys["support"]).json()["status"] == "closed"


def test_the_answer_form_cannot_be_posted_from_elsewhere(client, keys, delivered):
    s = delivered()
    url = s["tracking_url"].replace("http://127.0.0.1:8000", "") + "/followup"
    assert client.post(url, data={"answer": "no", "form_token": "0" * 32}).status_code == 403
    form_page = page(client, s["tracking_url"], "/followup?answer=no").text
    token = re.search(r'name="form_token" value="([0-9a-f]+)"', form_page).group(1)
    cross = client.post(url, data={"answer": "no", "form_token": token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert client.post(url, data={"answer": "maybe", "form_token": token}).status_code == 422
    assert client.get(f"/api/v1/swap-requests/{s['id']}", headers=keys["support"]).json()["follow_up"]["answer"] \
        is None


def test_no_answer_brings_one_reminder_then_the_follow_up_closes_as_no_answer(client, keys, delivered, app,
                                                                              frozen_clock):
    s = delivered(return_mode="no_return")  # delivered Wednesday 05:00
    frozen_clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))  # Thursday 10:00: asked
    run_due(app)
    assert sent(client, keys, s["id"])[-1] == "followup"
    run_due(app)
    frozen_clock.set(datetime(2026, 11, 30, 9, 59, tzinfo=UTC))  # Monday: not yet two business days
    run_due(app)
    assert "followup_reminder" not in sent(client, keys, s["id"])
    frozen_clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    run_due(app)
    run_due(app)
    assert sent(client, keys, s["id"]).count("followup_reminder") == 1
    frozen_clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # two business days after the reminder
    run_due(app)
    got = client.get(f"/api/v1/swap-requests/{s['id']}", headers=keys["support"]).json()
    assert got["follow_up"]["outcome"] == "no_answer" and got["status"] == "closed"
    assert "followup_no_answer" in [e["kind"] for e in got["timeline"]]
    frozen_clock.advance(days=10)
    run_due(app)
    assert sent(client, keys, s["id"]).count("followup_reminder") == 1


# ---- returns -------------------------------------------------------------------------------------


def test_reminders_follow_the_due_date_and_stop_when_the_device_is_scanned_in(client, keys, world, delivered, app,
                                                                              frozen_clock):
    old = world["spare"]()
    out_with_a_worker(app.state.session_factory, old["id"])
    s = delivered(return_mode="return_box", broken_unit=old["asset_tag"])
    ret = client.get("/api/v1/returns", headers=keys["support"]).json()[0]
    assert ret["due_date"] == "2026-12-09"
    frozen_clock.set(datetime(2026, 12, 9, 10, 0, tzinfo=UTC))  # the due day
    run_due(app)
    assert sent(client, keys, s["id"]).count("return_reminder") == 1
    moved = client.patch(f"/api/v1/returns/{ret['id']}", json={"due_date": "2026-12-16", "reason": "travelling"},
                         headers=keys["support"])
    assert moved.status_code == 200 and moved.json()["chase_step"] == 0
    frozen_clock.set(datetime(2026, 12, 14, 10, 0, tzinfo=UTC))  # the old date's second reminder: gone
    run_due(app)
    assert sent(client, keys, s["id"]).count("return_reminder") == 1
    frozen_clock.set(datetime(2026, 12, 16, 10, 0, tzinfo=UTC))  # the new due day
    run_due(app)
    reminders = [n for n in notes(client, keys, s["id"]) if n["kind"] == "return_reminder"]
    assert [n["status"] for n in reminders] == ["sent", "sent"]
    assert "due back with us today (Wednesday 16 December)" in reminders[-1]["body_text"]
    box = scan(client, keys, shipments(client, keys, s["id"])["return"]["tracking_number"], world["lon"]["id"])
    scan(client, keys, old["asset_tag"], world["lon"]["id"], return_id=box["expected_return_id"])
    run_due(app)
    assert sent(client, keys, s["id"])[-1] == "return_received"
    receipt = next(n for n in notes(client, keys, s["id"]) if n["kind"] == "return_received")
    assert old["asset_tag"] in receipt["body_text"] and "proof of return" in receipt["body_text"]
    frozen_clock.set(datetime(2026, 12, 21, 10, 0, tzinfo=UTC))  # the next reminder's day: nothing sent
    run_due(app)
    assert sent(client, keys, s["id"]).count("return_reminder") == 2


def test_an_unreturned_device_is_a_charge_back_that_support_decides(client, keys, world, delivered, app,
                                                                    frozen_clock):
    old = world["spare"]()
    out_with_a_worker(app.state.session_factory, old["id"])
    s = delivered(return_mode="return_box", broken_unit=old["asset_tag"],
                  worker={**swap_body()["worker"], "manager_email": "boss@example.com"})
    frozen_clock.set(datetime(2026, 12, 22, 10, 0, tzinfo=UTC))  # nine business days past 9 December
    run_due(app)
    assert any(n["kind"] == "return_overdue_manager" and n["recipient"] == "boss@example.com"
               for n in notes(client, keys, s["id"]))
    assert client.get("/api/v1/charge-backs", headers=keys["support"]).json() == []
    frozen_clock.set(datetime(2027, 1, 4, 10, 0, tzinfo=UTC))  # fifteen business days (Christmas skipped)
    run_due(app)
    assert client.get("/api/v1/returns", headers=keys["support"]).json()[0]["status"] == "unreturned"
    (charge,) = client.get("/api/v1/charge-backs", headers=keys["support"]).json()
    assert (charge["amount"], charge["currency"], charge["status"]) == ("950.00", "GBP", "pending")
    waived = client.post(f"/api/v1/charge-backs/{charge['id']}/waive", json={"note": "stolen, police report"},
                         headers=keys["support"])
    assert waived.status_code == 200 and waived.json()["status"] == "waived"
    assert client.post(f"/api/v1/charge-backs/{charge['id']}/confirm", json={"note": "x"},
                       headers=keys["support"]).status_code == 409
    kinds = [e["kind"] for e in client.get(f"/api/v1/swap-requests/{s['id']}",
                                           headers=keys["support"]).json()["timeline"]]
    assert kinds.count("return_overdue") == 1 and kinds.count("unreturned") == 1


# ---- the waitlist ----------------------------------------------------------------------------------


def test_everyone_waiting_hears_every_day_where_they_stand(client, keys, world, app, frozen_clock):
    first = swap(client, keys, world, ticket="W-1")
    second = swap(client, keys, world, ticket="W-2")
    run_due(app)
    assert [n["subject"] for n in notes(client, keys, second["id"])] == ["We have your request: you are number 2 in line"]
    frozen_clock.set(datetime(2026, 11, 25, 8, 59, tzinfo=UTC))
    run_due(app)
    assert "waitlist_update" not in sent(client, keys, first["id"])
    frozen_clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    run_due(app)
    run_due(app)
    update = [n for n in notes(client, keys, second["id"]) if n["kind"] == "waitlist_update"]
    assert len(update) == 1 and update[0]["subject"] == "Still waiting for your replacement: you are number 2 in line"
    assert "We do not have a date yet" in update[0]["body_text"]
    frozen_clock.set(datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
    run_due(app)
    assert sent(client, keys, first["id"]).count("waitlist_update") == 2


def test_the_daily_update_gives_a_date_when_a_device_is_due_back(client, keys, world, delivered, app, frozen_clock):
    old = world["spare"]()
    out_with_a_worker(app.state.session_factory, old["id"])
    delivered(return_mode="return_box", broken_unit=old["asset_tag"])  # due back Wednesday 9 December
    waiting = swap(client, keys, world, ticket="W-9")  # Wednesday: nothing in stock
    frozen_clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    run_due(app)
    update = next(n for n in notes(client, keys, waiting["id"]) if n["kind"] == "waitlist_update")
    assert "should reach you by Friday 11 December" in update["body_text"]


def test_escalation_serves_first_only_among_the_same_need_by_date(client, keys, world, app, frozen_clock):
    late = swap(client, keys, world, ticket="P-1", needed_by="2026-12-04")
    urgent = swap(client, keys, world, ticket="P-2", needed_by="2026-12-01")
    same_day = swap(client, keys, world, ticket="P-3", needed_by="2026-12-04")
    frozen_clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    run_due(app)  # all three waited a business day: each escalated once
    assert {client.get(f"/api/v1/swap-requests/{x['id']}", headers=keys["support"]).json()["priority"]
            for x in (late, urgent, same_day)} == {1}
    raise_priority(app.state.session_factory, same_day["id"], rule="followup_not_working")  # one more level
    for _ in range(2):
        world["spare"]()
    got = {x["id"]: client.get(f"/api/v1/swap-requests/{x['id']}", headers=keys["support"]).json()["status"]
           for x in (late, urgent, same_day)}
    # The earliest need-by date first; then, on the same date, the higher priority (not the older swap).
    assert got == {urgent["id"]: "allocated", same_day["id"]: "allocated", late["id"]: "backordered"}


# ---- escalation rules ------------------------------------------------------------------------------


def escalations(client, keys, swap_id):
    got = client.get(f"/api/v1/swap-requests/{swap_id}", headers=keys["support"]).json()
    return got["priority"], [e["rule"] for e in got["escalations"]]


def test_a_backorder_escalates_once_after_a_business_day(client, keys, world, app, frozen_clock):
    s = swap(client, keys, world)
    frozen_clock.set(datetime(2026, 11, 25, 8, 59, tzinfo=UTC))
    run_due(app)
    assert escalations(client, keys, s["id"]) == (0, [])
    frozen_clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    run_due(app)
    run_due(app)
    assert escalations(client, keys, s["id"]) == (1, ["backordered_too_long"])
    run_due(app)
    support = [n for n in notes(client, keys, s["id"], audience="support") if n["status"] == "sent"]
    assert len(support) == 1 and "on the waitlist for more than 1 business day" in support[0]["body_text"]


def test_an_unpacked_unit_then_a_label_never_scanned_escalate_one_level_each(client, keys, world, app, frozen_clock):
    world["spare"]()
    s = swap(client, keys, world)  # ships Tuesday; the London cut-off is 16:00
    run_due(app)
    frozen_clock.set(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))
    run_due(app)
    assert escalations(client, keys, s["id"]) == (0, [])
    frozen_clock.set(datetime(2026, 11, 24, 16, 5, tzinfo=UTC))
    run_due(app)
    assert escalations(client, keys, s["id"]) == (1, ["not_packed_by_cutoff"])
    frozen_clock.set(datetime(2026, 11, 25, 18, 5, tzinfo=UTC))  # the evening after: still no courier scan
    run_due(app)
    assert escalations(client, keys, s["id"]) == (2, ["not_packed_by_cutoff", "no_carrier_scan"])


def test_silence_in_transit_and_a_lingering_exception_escalate(client, keys, world, app, frozen_clock):
    world["spare"]()
    s = swap(client, keys, world)
    run_due(app)
    scan(client, keys, client.get(f"/api/v1/swap-requests/{s['id']}", headers=keys["support"]).json()
         ["unit_asset_tag"], world["lon"]["id"])
    out = shipments(client, keys, s["id"])["outbound"]["tracking_number"]
    courier_says(client, out, "TRANSIT", datetime(2026, 11, 24, 17, 0, tzinfo=UTC))
    frozen_clock.set(datetime(2026, 11, 26, 17, 1, tzinfo=UTC))
    run_due(app)
    assert escalations(client, keys, s["id"])[1] == ["silent_in_transit"]
    courier_says(client, out, "FAILURE", frozen_clock.at, details="parcel lost in the depot")
    frozen_clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))  # 17 hours, under one business hour
    run_due(app)
    assert escalations(client, keys, s["id"]) == (1, ["silent_in_transit"])
    frozen_clock.set(datetime(2026, 11, 27, 13, 2, tzinfo=UTC))  # Friday 09:00–13:02: over four business hours
    run_due(app)
    assert escalations(client, keys, s["id"]) == (2, ["silent_in_transit", "exception_open"])
    assert "exception" in sent(client, keys, s["id"])


def test_the_notifications_list_is_paged_and_filtered(client, keys, world, app):
    world["spare"]()
    s = swap(client, keys, world)
    run_due(app)
    first = client.get("/api/v1/notifications", params={"limit": 1}, headers=keys["warehouse"]).json()
    second = client.get("/api/v1/notifications", params={"limit": 1, "cursor": first["next_cursor"]},
                        headers=keys["warehouse"]).json()
    assert [n["kind"] for n in first["items"] + second["items"]] == ["received", "courier_booked"]
    assert client.get("/api/v1/notifications", params={"kind": "courier_booked"},
                      headers=keys["support"]).json()["items"][0]["swap_id"] == s["id"]
    with app.state.session_factory() as session:
        assert session.scalars(select(Notification.dedupe_key).order_by(Notification.id)).all() == [
            f"swap:{s['id']}:received:allocated:email", f"swap:{s['id']}:courier_booked:1:email"]
