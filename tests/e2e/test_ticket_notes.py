"""Notes back on the ticket, through HTTP and the outbox, to stand-ins of Jira Service Management,
Zendesk and ServiceNow (each checks the tool's real request shape and answers like it): a whole
swap's notes on each, internal and public; a waiting swap's place in line; retries on 429 and 5xx
after Retry-After; a refusal never touches the swap."""

import json
from contextlib import ExitStack

import pytest

from tests.support import factories as f
from tests.support.asgi_client import AppClient
from tests.support.factories import post_swap, swap_body
from tests.support.journey import walk_whole_swap
from tests.support.loop import run_due
from tests.support.ticket_standins import JiraStandin, ServiceNowStandin, ZendeskStandin

WHOLE_SWAP = [  # (moment, public) in the order they happen
    ("allocated", False), ("allocated", True), ("shipped", False), ("shipped", True), ("delivered", False),
    ("delivered", True), ("followup", False), ("closed", False),
]


@pytest.fixture
def tools():
    with ExitStack() as stack:
        yield {name: stack.enter_context(tool()) for name, tool in
               (("jira", JiraStandin), ("zendesk", ZendeskStandin), ("servicenow", ServiceNowStandin))}


@pytest.fixture
def service(make_app, keys, tools, frozen_clock):
    app = make_app(ticket_systems=json.dumps({name: tool.system_config() for name, tool in tools.items()}))
    with AppClient(app) as c:
        admin = keys["admin"]
        lon = f.depot(c, admin, "LON")
        model = f.model(c, admin, sku="LAT-5440")
        prof = f.profile(c, admin, version="v2")

        def spare():
            return f.unit(c, keys["warehouse"], model["id"], lon["id"], **f.fit_to_ship(prof, box_contents=["charger"]))

        yield {"app": app, "client": c, "lon": lon, "model": model, "spare": spare}


def notes(c, keys, swap_id):
    r = c.get("/api/v1/ticket-notes", params={"swap_id": swap_id, "limit": 200}, headers=keys["support"])
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.mark.parametrize("system", ["jira", "zendesk", "servicenow"])
def test_each_tool_gets_the_notes_of_a_whole_swap(service, keys, tools, frozen_clock, system):
    c, tool = service["client"], tools[system]
    ticket = {"jira": "ITSM-42", "zendesk": "35436", "servicenow": "INC0010042"}[system]
    ticket_ref = {"system": system, "id": ticket}
    posted_to = tool.add_ticket(ticket if system != "servicenow" else None)
    if system == "servicenow":
        ticket_ref["sys_id"] = posted_to
    new = service["spare"]()
    swap = walk_whole_swap(c, keys, service["app"], frozen_clock,
                           body=swap_body(service["model"]["id"], ticket=ticket, return_mode="return_box",
                                          broken_unit="OLD-123") | {"ticket": ticket_ref},
                           spare_tag=new["asset_tag"], depot_id=service["lon"]["id"])
    mine = notes(c, keys, swap["id"])
    assert [(n["moment"], n["public"]) for n in mine] == WHOLE_SWAP
    assert {n["status"] for n in mine} == {"posted"} and {n["ticket_id"] for n in mine} == {posted_to}
    on_ticket = tool.comments(posted_to)
    assert [c["public"] for c in on_ticket] == [public for _, public in WHOLE_SWAP]
    bodies = [c["body"] for c in on_ticket]
    assert all(f"[spares swap {swap['id']} · note {n['id']}]" in b for n, b in zip(mine, bodies, strict=True))
    assert "Spare reserved: Latitude" in bodies[0] and new["asset_tag"] in bodies[0]
    assert "should arrive on Wednesday 25 November" in bodies[1] and new["asset_tag"] not in bodies[1]
    assert "/sim/track/" in bodies[3]  # the courier's own tracking page, never the worker's link
    assert "/t/" not in "".join(bodies)
    assert "says it works (score 5/5)" in bodies[6]
    if system == "jira":
        assert all(n["external_id"] for n in mine)  # the comment's id, as Jira answered it


def test_a_waiting_worker_hears_their_place_in_line_and_support_sees_the_escalation(service, keys, tools,
                                                                                     frozen_clock):
    c, jira = service["client"], tools["jira"]
    jira.add_ticket("ITSM-7")
    swap = post_swap(c, keys, swap_body(service["model"]["id"], ticket="ITSM-7")).json()  # no stock
    run_due(service["app"])
    assert [(n["moment"], n["public"]) for n in notes(c, keys, swap["id"])] == [("backordered", False),
                                                                                ("backordered", True)]
    public = jira.comments("ITSM-7")[1]["body"]
    assert "You are number 1 in line" in public and jira.comments("ITSM-7")[1]["public"] is True
    frozen_clock.advance(days=2)  # Thursday: waiting longer than a business day
    run_due(service["app"])
    escalated = [n for n in notes(c, keys, swap["id"]) if n["moment"] == "escalated"]
    assert [(n["public"], n["status"]) for n in escalated] == [(False, "posted")]
    assert "Escalated to priority 1 (backordered_too_long)" in jira.comments("ITSM-7")[-1]["body"]


def test_busy_and_broken_tools_are_tried_again_after_their_retry_after(service, keys, tools, frozen_clock):
    c, zendesk = service["client"], tools["zendesk"]
    zendesk.add_ticket("501")
    zendesk.fail_next(429, retry_after="120")
    zendesk.fail_next(503)
    service["spare"]()
    swap = post_swap(c, keys, swap_body(service["model"]["id"], ticket="501") | {"ticket": {"system": "zendesk",
                                                                                            "id": "501"}}).json()
    run_due(service["app"])
    first = notes(c, keys, swap["id"])[0]
    assert first["status"] == "queued" and first["response_status"] == 429 and first["attempts"] == 1
    frozen_clock.advance(seconds=100)
    run_due(service["app"])
    assert notes(c, keys, swap["id"])[0]["attempts"] == 1  # not before the tool's 120 s
    frozen_clock.advance(seconds=21)
    run_due(service["app"])
    assert notes(c, keys, swap["id"])[0]["response_status"] == 503
    assert notes(c, keys, swap["id"])[1]["attempts"] == 0  # it waits its turn behind the first
    frozen_clock.advance(minutes=5)
    run_due(service["app"])
    assert [n["status"] for n in notes(c, keys, swap["id"])] == ["posted", "posted"]
    assert [c["public"] for c in zendesk.comments("501")] == [False, True]  # in order, retries and all
    got = c.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    assert got["status"] == "label_booked"  # booking went ahead meanwhile


def test_a_refusing_tool_fails_the_note_and_never_the_swap(service, keys, tools):
    c = service["client"]
    service["spare"]()  # ticket ITSM-404 is unknown to the Jira stand-in: its real 404
    swap = post_swap(c, keys, swap_body(service["model"]["id"], ticket="ITSM-404")).json()
    run_due(service["app"])
    failed = notes(c, keys, swap["id"])
    assert {n["status"] for n in failed} == {"failed"} and {n["response_status"] for n in failed} == {404}
    assert all(n["attempts"] == 1 for n in failed) and "ITSM-404" in failed[0]["error"]
    got = c.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    assert got["status"] == "label_booked" and not got["escalations"]


def test_a_ticket_system_with_no_tool_configured_gets_no_notes(service, keys):
    c = service["client"]
    service["spare"]()
    swap = post_swap(c, keys, swap_body(service["model"]["id"]) | {"ticket": {"system": "freshdesk", "id": "9"}}).json()
    run_due(service["app"])
    assert notes(c, keys, swap["id"]) == []


def test_settings_naming_an_unknown_tool_stop_the_start(make_app):
    with pytest.raises(ValueError, match="acme"):
        make_app(ticket_systems=json.dumps({"acme": {"type": "remedy", "base_url": "https://x", "user": "u",
                                                     "secret": "s"}}))


def test_a_note_for_a_tool_no_longer_configured_fails_without_touching_the_swap(service, keys, tools, make_app):
    c = service["client"]
    tools["jira"].add_ticket("ITSM-9")
    service["spare"]()
    swap = post_swap(c, keys, swap_body(service["model"]["id"], ticket="ITSM-9")).json()  # notes queued
    without = make_app(ticket_systems="")  # restarted with Jira taken out of the settings
    run_due(without)
    failed = notes(c, keys, swap["id"])
    assert {n["status"] for n in failed} == {"failed"} and "no longer configured" in failed[0]["error"]
    assert tools["jira"].comments("ITSM-9") == []
    assert c.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()["status"] == "label_booked"
