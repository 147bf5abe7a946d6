"""The ticket connectors over HTTP against stand-ins of Jira Service Management, Zendesk and
ServiceNow: the tools' real request shapes, their answers classified (retryable or not, with
Retry-After), timeouts, secrets kept out of messages, and the ticket-systems settings.
No database."""

import base64
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from app.integrations.tickets.connectors import (
    JiraConnector,
    Posted,
    ServiceNowConnector,
    TicketConnector,
    TicketError,
    TicketSystem,
    ZendeskConnector,
    connector_for,
    looks_like_sys_id,
    parse_ticket_systems,
)
from tests.support import http
from tests.support.ports import port_mismatches
from tests.support.ticket_standins import JiraStandin, ServiceNowStandin, ZendeskStandin

STANDINS = {"jira": JiraStandin, "zendesk": ZendeskStandin, "servicenow": ServiceNowStandin}
TICKETS = {"jira": "ITSM-42", "zendesk": "35436", "servicenow": "9d385017c611228701d22104cc95c371"}
# What each tool says to a wrong login and an unknown ticket (quoted in the error message).
SAYS_401 = {"jira": "Client must be authenticated", "zendesk": "Couldn't authenticate you",
            "servicenow": "User Not Authenticated"}  # fmt: skip
SAYS_404 = {"jira": "Issue does not exist", "zendesk": "RecordNotFound",
            "servicenow": "No Record found"}  # fmt: skip
NOTE = "Your replacement laptop ships today: tracking 1Z999AA10123456784."


def system_for(standin, *, timeout: float = 2.0, **changes) -> TicketSystem:
    config = {**standin.system_config(), **changes}
    return TicketSystem(name=f"acme-{standin.type}", timeout=timeout, **config)


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def post_failing(standin, ticket: str | None = None, **changes) -> TicketError:
    connector = connector_for(system_for(standin, **changes))
    with pytest.raises(TicketError) as caught:
        ticket = TICKETS[standin.type] if ticket is None else ticket
        connector.post_comment(ticket, NOTE, public=True)
    return caught.value


@pytest.fixture(params=list(STANDINS))
def tool(request):
    """Each stand-in in turn, knowing its tool's example ticket."""
    with STANDINS[request.param]() as standin:
        standin.add_ticket(TICKETS[request.param])
        yield standin


# ---- the request each tool gets ---------------------------------------------------------------


def test_jira_gets_a_service_management_comment_public_or_internal():
    with JiraStandin() as jira:
        jira.add_ticket("ITSM-42")
        connector = connector_for(system_for(jira))
        assert isinstance(connector, JiraConnector)

        shown = connector.post_comment("ITSM-42", NOTE, public=True)
        hidden = connector.post_comment("ITSM-42", "Unit SN-0042 reserved.", public=False)

        first, second = jira.requests
        assert first.method == "POST"
        assert first.path == "/rest/servicedeskapi/request/ITSM-42/comment"
        assert first.json == {"body": NOTE, "public": True}
        assert second.json == {"body": "Unit SN-0042 reserved.", "public": False}
        assert first.headers["authorization"] == basic(jira.user, jira.secret)
        assert first.headers["content-type"] == "application/json"
        assert first.headers["accept"] == "application/json"
        assert first.headers["user-agent"] == "spares-swap-service"
        stored = jira.comments("ITSM-42")
        assert [(c["body"], c["public"]) for c in stored] == [(NOTE, True),
                                                              ("Unit SN-0042 reserved.", False)]
        assert shown == Posted(201, stored[0]["id"]) and hidden == Posted(201, stored[1]["id"])


def test_zendesk_gets_a_ticket_update_with_a_comment_public_or_internal():
    with ZendeskStandin() as zendesk:
        zendesk.add_ticket("35436")
        connector = connector_for(system_for(zendesk))
        assert isinstance(connector, ZendeskConnector)

        shown = connector.post_comment("35436", NOTE, public=True)
        hidden = connector.post_comment("35436", "Unit SN-0042 reserved.", public=False)

        first, second = zendesk.requests
        assert (first.method, first.path) == ("PUT", "/api/v2/tickets/35436.json")
        assert first.json == {"ticket": {"comment": {"body": NOTE, "public": True}}}
        assert second.json == {"ticket": {"comment": {"body": "Unit SN-0042 reserved.",
                                                      "public": False}}}  # fmt: skip
        assert first.headers["authorization"] == basic(f"{zendesk.user}/token", zendesk.secret)
        assert first.headers["content-type"] == "application/json"
        stored = zendesk.comments("35436")
        assert [(c["body"], c["public"]) for c in stored] == [(NOTE, True),
                                                              ("Unit SN-0042 reserved.", False)]
        # the id Zendesk gives back is the audit's: the update that carried the comment
        assert shown == Posted(200, str(stored[0]["audit_id"]))
        assert hidden == Posted(200, str(stored[1]["audit_id"]))


def test_servicenow_gets_comments_when_public_and_work_notes_when_internal():
    with ServiceNowStandin(table="sn_customerservice_case") as servicenow:
        sys_id = servicenow.add_ticket()
        connector = connector_for(system_for(servicenow))
        assert isinstance(connector, ServiceNowConnector)

        shown = connector.post_comment(sys_id, NOTE, public=True)
        hidden = connector.post_comment(sys_id, "Unit SN-0042 reserved.", public=False)

        first, second = servicenow.requests
        assert (first.method, first.path) == ("PATCH",
                                              f"/api/now/table/sn_customerservice_case/{sys_id}")
        assert first.json == {"comments": NOTE}
        assert second.json == {"work_notes": "Unit SN-0042 reserved."}
        assert first.headers["authorization"] == basic(servicenow.user, servicenow.secret)
        assert first.headers["accept"] == "application/json"
        assert [(c["element"], c["body"], c["public"]) for c in servicenow.comments(sys_id)] == [
            ("comments", NOTE, True), ("work_notes", "Unit SN-0042 reserved.", False)]
        assert shown == hidden == Posted(200, None)  # ServiceNow gives no id for a journal entry


def test_every_connector_is_a_ticket_connector_that_posts_public_comments(tool):
    connector = connector_for(system_for(tool))
    assert port_mismatches(TicketConnector, connector) == []
    assert connector.supports_public is True


def test_a_client_given_is_used(tool):
    with http.client(headers={"X-Trace": "drill-7"}) as client:
        connector_for(system_for(tool), client=client).post_comment(TICKETS[tool.type], NOTE,
                                                                    public=True)  # fmt: skip
    assert tool.requests[0].headers["x-trace"] == "drill-7"
    assert tool.comments(TICKETS[tool.type])[0]["body"] == NOTE


def test_the_ticket_id_is_quoted_into_the_path():
    with JiraStandin() as jira:
        jira.add_ticket("ITSM 42/x?y")
        connector_for(system_for(jira)).post_comment("ITSM 42/x?y", NOTE, public=True)
        assert jira.requests[0].path == "/rest/servicedeskapi/request/ITSM%2042%2Fx%3Fy/comment"
        assert jira.comments("ITSM 42/x?y")[0]["body"] == NOTE


@pytest.mark.parametrize("ticket", ["", "..", "."])
def test_what_is_no_ticket_id_is_refused_before_any_request(ticket):
    with JiraStandin() as jira:
        error = post_failing(jira, ticket)
        assert (error.retryable, error.status, jira.requests) == (False, None, [])


# ---- answers classified ----------------------------------------------------------------------


def test_a_wrong_secret_is_not_retryable(tool):
    error = post_failing(tool, secret="not-the-token")

    assert (error.retryable, error.status, error.retry_after) == (False, 401, None)
    message = str(error)
    assert f"acme-{tool.type}" in message and TICKETS[tool.type] in message
    assert SAYS_401[tool.type] in message
    assert tool.comments(TICKETS[tool.type]) == []


def test_an_unknown_ticket_is_not_retryable(tool):
    unknown = {"jira": "ITSM-9999", "zendesk": "99999",
               "servicenow": "0123456789abcdef0123456789abcdef"}[tool.type]  # fmt: skip

    error = post_failing(tool, unknown)

    assert (error.retryable, error.status) == (False, 404)
    assert SAYS_404[tool.type] in str(error) and unknown in str(error)


def test_a_429_is_retryable_after_the_seconds_it_says(tool):
    tool.fail_next(429, retry_after="17")

    error = post_failing(tool)

    assert (error.retryable, error.status, error.retry_after) == (True, 429, 17.0)
    assert tool.comments(TICKETS[tool.type]) == []


def test_a_429_with_an_http_date_is_retryable_after_that_time(tool):
    tool.fail_next(429, retry_after=format_datetime(datetime.now(UTC) + timedelta(seconds=90),
                                                    usegmt=True))  # fmt: skip

    error = post_failing(tool)

    assert error.retryable and error.status == 429
    assert error.retry_after == pytest.approx(90, abs=2)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retryable(tool, status):
    tool.fail_next(status)

    error = post_failing(tool)

    assert (error.retryable, error.status, error.retry_after) == (True, status, None)


def test_a_retry_after_the_fault_goes_through(tool):
    tool.fail_next(503, retry_after="1", times=2)
    connector = connector_for(system_for(tool))
    for _ in range(2):
        with pytest.raises(TicketError, match="HTTP 503"):
            connector.post_comment(TICKETS[tool.type], NOTE, public=True)

    connector.post_comment(TICKETS[tool.type], NOTE, public=True)

    assert [c["body"] for c in tool.comments(TICKETS[tool.type])] == [NOTE]


def test_a_tool_hanging_past_the_timeout_is_retryable_soon_after_it(tool):
    tool.hang_next(5.0)

    started = time.monotonic()
    error = post_failing(tool, timeout=0.5)
    took = time.monotonic() - started

    assert (error.retryable, error.status) == (True, None)
    assert "no answer within 0.5 s" in str(error)
    assert 0.4 < took < 1.5
    # The tool did the work; only its answer was lost: a retry posts the comment again.
    assert len(tool.comments(TICKETS[tool.type])) == 1


def test_a_tool_that_cannot_be_reached_is_retryable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    system = TicketSystem(name="acme", type="jira", base_url=f"http://127.0.0.1:{port}",
                          user="bot@example.com", secret="s3cret-0123", timeout=0.5)  # fmt: skip

    with pytest.raises(TicketError) as caught:
        connector_for(system).post_comment("ITSM-42", NOTE, public=True)

    assert (caught.value.retryable, caught.value.status) == (True, None)
    assert "could not reach it" in str(caught.value)


def test_the_secret_stays_out_of_messages_and_reprs(tool):
    system = system_for(tool, timeout=0.3)
    connector = connector_for(system)
    tool.fail_next(429, retry_after="3")
    tool.fail_next(503)
    tool.hang_next(2.0)
    messages = []
    for ticket in [TICKETS[tool.type]] * 3 + ["0123456789abcdef0123456789abcdef"]:
        with pytest.raises(TicketError) as caught:
            connector.post_comment(ticket, NOTE, public=True)
        messages.append(str(caught.value))
    messages.append(str(post_failing(tool, secret="wrong-" + tool.secret)))

    assert len(set(messages)) == 5
    for text in [*messages, repr(system), repr(connector)]:
        assert tool.secret not in text
    assert "secret" not in repr(system)


# ---- ServiceNow wants the record's sys_id -----------------------------------------------------


@pytest.mark.parametrize("ticket", ["INC0010001", "9D385017C611228701D22104CC95C371",
                                    "9d385017c611228701d22104cc95c37", "../../sys_user/x"])
def test_servicenow_refuses_what_is_not_a_sys_id_before_any_request(ticket):
    with ServiceNowStandin() as servicenow:
        error = post_failing(servicenow, ticket)

        assert (error.retryable, error.status) == (False, None)
        assert "sys_id" in str(error) and ticket in str(error)
        assert servicenow.requests == []


def test_looks_like_sys_id():
    assert looks_like_sys_id("9d385017c611228701d22104cc95c371")
    assert not looks_like_sys_id("INC0010001")
    assert not looks_like_sys_id("9d385017c611228701d22104cc95c371\n")


# ---- the stand-ins refuse what the tools refuse -----------------------------------------------

WRONG_BODIES = {
    "jira": [{"body": NOTE}, {"body": NOTE, "public": "true"}, {"comment": NOTE, "public": True}],
    "zendesk": [{"comment": {"body": NOTE, "public": True}},
                {"ticket": {"comment": {"body": NOTE}}},
                {"ticket": {"comment": {"body": NOTE, "public": True}, "status": "solved"}}],
    "servicenow": [{"comments": NOTE, "work_notes": NOTE}, {"comment": NOTE}, {"comments": 7}],
}  # fmt: skip


def test_the_standins_refuse_a_request_of_the_wrong_shape(tool):
    connector = connector_for(system_for(tool))
    method, path, right = connector._request(TICKETS[tool.type], NOTE, True)
    auth = connector._auth()
    url = tool.url + path
    for wrong in WRONG_BODIES[tool.type]:
        answer = http.request(method, url, json=wrong, auth=auth)
        assert answer.status_code == (422 if tool.type == "zendesk" else 400), wrong
    as_form = http.request(method, url, data={"body": NOTE}, auth=auth)
    assert as_form.status_code == 415
    other_method = "POST" if method != "POST" else "PUT"
    assert http.request(other_method, url, json=right, auth=auth).status_code in (400, 404)
    assert tool.comments(TICKETS[tool.type]) == []


# ---- the settings ----------------------------------------------------------------------------

GOOD = {
    "jira": {"type": "jira", "base_url": "https://acme.atlassian.net/", "user": "bot@acme.com",
             "secret": "atl-token-1"},
    "acme-zendesk": {"type": "zendesk", "base_url": "https://acme.zendesk.com",
                     "user": "bot@acme.com", "secret": "zd-token-1", "timeout": 4},
    "acme.snow": {"type": "servicenow", "base_url": "https://acme.service-now.com",
                  "user": "spares.integration", "secret": "sn-pass-1", "table": "sn_case"},
}  # fmt: skip


def test_parse_ticket_systems_reads_a_good_config():
    systems = parse_ticket_systems(json.dumps(GOOD))

    assert systems == {
        "jira": TicketSystem("jira", "jira", "https://acme.atlassian.net", "bot@acme.com",
                             "atl-token-1"),
        "acme-zendesk": TicketSystem("acme-zendesk", "zendesk", "https://acme.zendesk.com",
                                     "bot@acme.com", "zd-token-1", timeout=4.0),
        "acme.snow": TicketSystem("acme.snow", "servicenow", "https://acme.service-now.com",
                                  "spares.integration", "sn-pass-1", table="sn_case"),
    }  # fmt: skip
    assert parse_ticket_systems("") == {} and parse_ticket_systems("  \n") == {}


def with_jira(**changes) -> str:
    entry = {k: v for k, v in {**GOOD["jira"], **changes}.items() if v is not None}
    return json.dumps({"jira": entry})


@pytest.mark.parametrize(("raw", "says"), [
    ('{"jira": {"type": "jira",', "not valid JSON"),
    ('["jira"]', "expected a JSON object"),
    (json.dumps({"Jira": GOOD["jira"]}), "lower-case"),
    (json.dumps({"jira": "https://acme.atlassian.net"}), "'jira': expected an object"),
    (with_jira(type="freshdesk"), "'jira': type must be one of jira, zendesk, servicenow"),
    (with_jira(secret=None), "'jira': missing or empty: secret"),
    (with_jira(user=" "), "'jira': missing or empty: user"),
    (with_jira(base_url=7), "'jira': missing or empty: base_url"),
    (with_jira(table="incident"), "'jira': unknown field(s) for jira: table"),
    (with_jira(timout=3), "unknown field(s) for jira: timout"),
    (with_jira(base_url="ftp://acme.atlassian.net"), "'jira': base_url must be an http(s)"),
    (with_jira(base_url="acme.atlassian.net"), "base_url must be an http(s)"),
    (with_jira(base_url="https://bot:atl-token-1@acme.atlassian.net"), "without credentials"),
    (with_jira(timeout=0), "'jira': timeout must be a positive number"),
    (with_jira(timeout="10"), "timeout must be a positive number"),
    (json.dumps({"snow": {**GOOD["acme.snow"], "table": "incident; drop"}}), "table must be"),
])  # fmt: skip
def test_parse_ticket_systems_refuses_a_bad_config_saying_which_and_why(raw, says):
    with pytest.raises(ValueError, match="ticket system") as caught:
        parse_ticket_systems(raw)

    assert says in str(caught.value)
    assert "atl-token-1" not in str(caught.value)
