"""A whole swap through HTTP, as the people in it would walk it: requested, booked, packed by scan,
carried and delivered (the courier's webhooks), "yes, it works" on the tracking page, the old device
carried back, scanned in and inspected: closed."""

import re
from datetime import timedelta

from tests.support.factories import hook, post_swap, scan
from tests.support.loop import run_due


def answer_follow_up(client, tracking_url, choice, score="5"):
    path = tracking_url.replace("http://127.0.0.1:8000", "") + "/followup"
    form = client.get(path, params={"answer": choice}).text
    token = re.search(r'name="form_token" value="([0-9a-f]+)"', form).group(1)
    answered = client.post(path, data={"answer": choice, "form_token": token, "score": score}, follow_redirects=False)
    assert answered.status_code == 303, answered.text


def walk_whole_swap(client, keys, app, clock, *, body, spare_tag, depot_id, broken_tag="OLD-123") -> dict:
    """`body` must ask for a return box and name `broken_tag` as the broken unit; `spare_tag` is the
    ready unit it will get. Returns the swap as created (with its one-time tracking link)."""
    swap = post_swap(client, keys, body).json()
    run_due(app)
    got = client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    out = next(s for s in got["shipments"] if s["direction"] == "outbound")["tracking_number"]
    back = next(s for s in got["shipments"] if s["direction"] == "return")["tracking_number"]
    scan(client, keys, spare_tag, depot_id)
    hook(client, out, "TRANSIT", clock.at + timedelta(hours=3))
    hook(client, out, "DELIVERED", clock.at + timedelta(hours=20))
    run_due(app)
    answer_follow_up(client, swap["tracking_url"], "yes")
    hook(client, back, "TRANSIT", clock.at + timedelta(hours=30))
    hook(client, back, "DELIVERED", clock.at + timedelta(hours=40))
    box = scan(client, keys, back, depot_id)
    received = scan(client, keys, broken_tag, depot_id, return_id=box["expected_return_id"])
    assert received["action"] == "received", received
    r = client.post(f"/api/v1/returns/{received['expected_return_id']}/inspection",
                    json={"items_present": ["device", "charger"], "damaged": False}, headers=keys["warehouse"])
    assert r.status_code == 200, r.text
    run_due(app)
    return swap
