"""Stand-ins for the ticketing tools the service comments on (docs INTEGRATIONS.md, "Commenting back
on a ticket"): Jira Service Management, Zendesk and ServiceNow. Each runs a stdlib
ThreadingHTTPServer on 127.0.0.1 (free port) in a background thread, answers the one call the
service makes with the tool's status and body, and refuses what the tool refuses with the tool's
error body:

    with ZendeskStandin() as zendesk:                    # or JiraStandin(), ServiceNowStandin()
        zendesk.add_ticket("35436")                      # any other ticket: the tool's 404
        systems = {"acme-zendesk": zendesk.system_config()}  # an entry of the settings JSON
        ...                                              # the service posts its comment
        zendesk.comments("35436")                        # [{"body": ..., "public": True, ...}]
        zendesk.requests[-1]                             # a Recorded: method, path, headers, json
        zendesk.fail_next(429, retry_after="30")         # or 500/502/503, `times=` in a row
        zendesk.hang_next(5.0)                           # the comment stored, the answer 5 s late

Only the stand-in's `user` and `secret` get in (keyword arguments, defaults below), as Basic auth
in the tool's format (Zendesk: `{email}/token:{api_token}`); anything else gets the tool's 401.
Every call is checked: method and path (another method on the same path would read, or even
delete, the ticket), `Content-Type: application/json` (else 415), and the JSON — Jira: `body` (a
string) and `public` (a boolean); Zendesk: `ticket.comment.body` and `ticket.comment.public`;
ServiceNow: exactly one of `comments` (customer-visible) or `work_notes` (internal). A field
beyond those is refused too (the tools would take it and change the ticket). A wrong shape gets
400 (Zendesk: 422 RecordInvalid, as Zendesk answers a record it cannot save).

A fault answers without doing anything; a hang does the work and answers late, past a client's
timeout: the "posted, but the answer was lost" case."""

import base64
import html
import json
import re
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from itertools import count
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from tests.support.servers import BackgroundServer

JIRA_USER, JIRA_TOKEN = "spares-bot@example.com", "jira-api-token-5ecr3t-0123456789"
ZENDESK_USER, ZENDESK_TOKEN = "spares-bot@example.com", "zendesk-api-token-5ecr3t-0123456789"
SERVICENOW_USER, SERVICENOW_PASSWORD = "spares.integration", "servicenow-5ecr3t-password"
AGENT_ID = 1900000000001  # the tool's id of the user the service posts as


@dataclass
class Recorded:
    """One request as it arrived."""

    method: str
    path: str  # as sent (still percent-encoded), without the query string
    headers: dict[str, str]  # lower-case names
    json: Any  # the parsed body; its text when it is not JSON; None when empty


@dataclass
class _Reply:
    status: int
    body: Any  # sent as JSON, or as text/plain when a str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Arranged:
    """What the next `times` requests get: a fault (`status`, nothing done) or a late answer."""

    times: int
    status: int | None = None
    retry_after: str | None = None
    hang: float = 0.0


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def _shape_problem(payload: Any, fields: dict[str, type]) -> str | None:
    """What is wrong with `payload`, which must be a JSON object with exactly these fields, of these
    types (strings not empty)."""
    if not isinstance(payload, dict):
        return f"expected a JSON object with {', '.join(fields)}"
    if set(payload) != set(fields):
        return f"expected exactly the fields {sorted(fields)}, got {sorted(payload)}"
    for name, kind in fields.items():
        if not isinstance(payload[name], kind) or payload[name] == "":
            return f"{name} must be a non-empty {kind.__name__}"
    return None


class _Standin(BackgroundServer, ABC):
    """What the stand-ins share: the server, the requests, the tickets and comments, the faults."""

    type: ClassVar[str]  # the tool, as in the settings' "type"

    def __init__(self, *, user: str, secret: str, port: int = 0) -> None:
        super().__init__(port)
        self.user, self.secret = user, secret
        self.requests: list[Recorded] = []
        self._comments: dict[str, list[dict]] = {}  # ticket id → its comments, oldest first
        self._arranged: list[_Arranged] = []  # for the next requests, in the order arranged
        self._ids = count(10001)
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------

    def _handler(self):
        return _handler_for(self)

    # -- what tests arrange and look at -------------------------------------------------------

    def system_config(self) -> dict[str, str]:
        """This stand-in as an entry of the service's ticket-systems settings JSON."""
        return {"type": self.type, "base_url": self.url, "user": self.user, "secret": self.secret}

    def add_ticket(self, ticket_id: str) -> str:
        """Makes a ticket known (comments on any other get the tool's 404); returns its id."""
        with self._lock:
            self._comments.setdefault(ticket_id, [])
        return ticket_id

    def comments(self, ticket_id: str) -> list[dict]:
        """The comments posted on a ticket, oldest first, as the tool keeps them: each has at
        least `body` and `public`."""
        with self._lock:
            return [dict(c) for c in self._comments[ticket_id]]

    def fail_next(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        """The next `times` requests get `status` (429, 500, 502, 503...) with the tool's error
        body, and a Retry-After header when given (seconds or an HTTP-date), and do nothing.
        Faults and hangs arranged one after the other apply to requests in that order."""
        with self._lock:
            self._arranged.append(_Arranged(times, status=status, retry_after=retry_after))

    def hang_next(self, seconds: float, *, times: int = 1) -> None:
        """The next `times` requests are done as usual but answered only after `seconds`."""
        with self._lock:
            self._arranged.append(_Arranged(times, hang=seconds))

    # -- answering ----------------------------------------------------------------------------

    def handle(self, req: Recorded) -> tuple[_Reply, float]:
        """(the reply, seconds to wait before sending it)."""
        with self._lock:
            self.requests.append(req)
            arranged = self._take_arranged()
            if arranged.status is not None:
                reply = self._fault(arranged.status)
                if arranged.retry_after is not None:
                    reply.headers["Retry-After"] = arranged.retry_after
                return reply, 0.0
            if req.headers.get("authorization") != self._authorization():
                return self._unauthorized(), arranged.hang
            content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
            if req.json is not None and content_type != "application/json":
                return self._error(415, "Content-Type must be application/json"), arranged.hang
            return self._route(req), arranged.hang

    def _take_arranged(self) -> _Arranged:
        if not self._arranged:
            return _Arranged(times=0)  # a plain answer
        arranged = self._arranged[0]
        arranged.times -= 1
        if arranged.times <= 0:
            self._arranged.pop(0)
        return arranged

    def _authorization(self) -> str:
        """The one Authorization header that gets in."""
        return _basic(self.user, self.secret)

    def _fault(self, status: int) -> _Reply:
        return self._error(status, HTTPStatus(status).phrase)

    @abstractmethod
    def _error(self, status: int, message: str) -> _Reply:
        """The tool's error answer."""

    @abstractmethod
    def _unauthorized(self) -> _Reply:
        """The tool's answer to a wrong or missing login."""

    @abstractmethod
    def _route(self, req: Recorded) -> _Reply:
        """The answer to an authenticated JSON request."""


def _now() -> datetime:
    return datetime.now(UTC)


class JiraStandin(_Standin):
    """Jira Service Management Cloud: `POST /rest/servicedeskapi/request/{issueIdOrKey}/comment`
    answers 201 with the comment. Errors are `{"errorMessage", "i18nErrorMessage"}` (the i18n key
    here is the stand-in's own), a path Jira has no resource for gets `{"message", "status-code"}`,
    and a wrong or missing login gets Jira Cloud's plain-text 401."""

    type = "jira"
    PATH = re.compile(r"/rest/servicedeskapi/request/([^/]+)/comment")

    def __init__(self, *, user: str = JIRA_USER, secret: str = JIRA_TOKEN, port: int = 0) -> None:
        super().__init__(user=user, secret=secret, port=port)

    def _error(self, status: int, message: str) -> _Reply:
        i18n = {"i18nKey": "sd.standin.error", "parameters": []}
        return _Reply(status, {"errorMessage": message, "i18nErrorMessage": i18n})

    def _unauthorized(self) -> _Reply:
        return _Reply(401, "Client must be authenticated to access this resource.")

    def _route(self, req: Recorded) -> _Reply:
        m = self.PATH.fullmatch(req.path)
        if m is None or req.method != "POST":
            return _Reply(404, {"message": f"null for uri: {self.url}{req.path}",
                                "status-code": 404})  # fmt: skip
        key = unquote(m[1])
        if key not in self._comments:
            return self._error(404, "Issue does not exist or you do not have permission to see it.")
        problem = _shape_problem(req.json, {"body": str, "public": bool})
        if problem:
            return self._error(400, problem)
        comment_id = str(next(self._ids))
        now = _now()
        comment = {
            "_expands": ["attachment", "renderedBody"], "id": comment_id,
            "body": req.json["body"], "public": req.json["public"],
            "author": {"accountId": "5b10a2844c20165700ede21g", "emailAddress": self.user,
                       "displayName": "Spares Bot", "active": True, "timeZone": "Etc/UTC"},
            "created": {"iso8601": now.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "jira": now.strftime("%Y-%m-%dT%H:%M:%S.")
                                + f"{now.microsecond // 1000:03d}" + now.strftime("%z"),
                        "friendly": "Today " + now.strftime("%I:%M %p"),
                        "epochMillis": int(now.timestamp() * 1000)},
            "_links": {"self": f"{self.url}{req.path}/{comment_id}"},
        }  # fmt: skip
        self._comments[key].append(comment)
        return _Reply(201, comment)


class ZendeskStandin(_Standin):
    """Zendesk Support: `PUT /api/v2/tickets/{id}.json` with a comment answers 200 with the ticket
    and the audit of the update (its events: the comment). Errors are `{"error", "description"}`;
    a 429 is Zendesk's plain-text one."""

    type = "zendesk"
    PATH = re.compile(r"/api/v2/tickets/([^/]+)\.json")

    def __init__(
        self, *, user: str = ZENDESK_USER, secret: str = ZENDESK_TOKEN, port: int = 0
    ) -> None:
        super().__init__(user=user, secret=secret, port=port)

    def add_ticket(self, ticket_id: str) -> str:
        """Makes a ticket known (Zendesk's ticket ids are numbers); returns its id."""
        if not ticket_id.isdigit():
            raise ValueError(f"Zendesk ticket ids are numbers, not {ticket_id!r}")
        return super().add_ticket(ticket_id)

    def _authorization(self) -> str:
        return _basic(f"{self.user}/token", self.secret)

    def _fault(self, status: int) -> _Reply:
        if status == 429:
            return _Reply(429, "Number of allowed API requests per minute exceeded")
        return super()._fault(status)

    def _error(self, status: int, message: str) -> _Reply:
        return _Reply(status, {"error": HTTPStatus(status).phrase.replace(" ", ""),
                               "description": message})  # fmt: skip

    def _unauthorized(self) -> _Reply:
        return _Reply(401, {"error": "Couldn't authenticate you"},
                      {"WWW-Authenticate": 'Basic realm="Web Password"'})  # fmt: skip

    def _route(self, req: Recorded) -> _Reply:
        m = self.PATH.fullmatch(req.path)
        if m is None or req.method != "PUT":
            return _Reply(404, {"error": "InvalidEndpoint", "description": "Not found"})
        ticket_id = unquote(m[1])
        if ticket_id not in self._comments:
            return _Reply(404, {"error": "RecordNotFound", "description": "Not found"})
        body = req.json
        problem = (
            _shape_problem(body, {"ticket": dict})
            or _shape_problem(body["ticket"], {"comment": dict})
            or _shape_problem(body["ticket"]["comment"], {"body": str, "public": bool})
        )
        if problem:
            return _Reply(422, {"error": "RecordInvalid", "description": "Record validation errors",
                                "details": {"base": [{"description": problem}]}})  # fmt: skip
        comment = body["ticket"]["comment"]
        audit_id = next(self._ids)
        event = {
            "id": next(self._ids), "type": "Comment", "author_id": AGENT_ID,
            "body": comment["body"], "plain_body": comment["body"],
            "html_body": f'<div class="zd-comment" dir="auto"><p dir="auto">'
                         f"{html.escape(comment['body'])}</p></div>",
            "public": comment["public"], "attachments": [], "audit_id": audit_id,
        }  # fmt: skip
        self._comments[ticket_id].append(event)
        now = _now().strftime("%Y-%m-%dT%H:%M:%SZ")
        ticket = {"id": int(ticket_id), "url": f"{self.url}/api/v2/tickets/{ticket_id}.json",
                  "status": "open", "updated_at": now, "requester_id": 1900000000002}  # fmt: skip
        audit = {
            "id": audit_id, "ticket_id": int(ticket_id), "created_at": now, "author_id": AGENT_ID,
            "metadata": {"system": {"client": req.headers.get("user-agent", ""),
                                    "ip_address": "127.0.0.1"}, "custom": {}},
            "events": [event],
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
        }  # fmt: skip
        return _Reply(200, {"ticket": ticket, "audit": audit})


class ServiceNowStandin(_Standin):
    """ServiceNow: `PATCH /api/now/table/{table}/{sys_id}` (PUT too) writing `comments` or
    `work_notes` answers 200 with `{"result": record}` (journal fields read back empty, as in
    ServiceNow). Errors are `{"error": {"message", "detail"}, "status": "failure"}`."""

    type = "servicenow"
    PATH = re.compile(r"/api/now/table/([^/]+)/([^/]+)")

    def __init__(
        self, *, user: str = SERVICENOW_USER, secret: str = SERVICENOW_PASSWORD,
        table: str = "incident", port: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(user=user, secret=secret, port=port)
        self.table = table
        self._numbers: dict[str, str] = {}

    def system_config(self) -> dict[str, str]:
        return {**super().system_config(), "table": self.table}

    def add_ticket(self, ticket_id: str | None = None) -> str:
        """Makes a record of the table known, by its sys_id (a new one when not given);
        returns the sys_id."""
        sys_id = super().add_ticket(ticket_id or uuid.uuid4().hex)
        with self._lock:
            self._numbers.setdefault(sys_id, f"INC{len(self._numbers) + 10001:07d}")
        return sys_id

    def _error(self, status: int, message: str, detail: str | None = None) -> _Reply:
        error = {"message": message, "detail": detail}
        return _Reply(status, {"error": error, "status": "failure"})

    def _unauthorized(self) -> _Reply:
        return self._error(401, "User Not Authenticated", "Required to provide Auth information")

    def _route(self, req: Recorded) -> _Reply:
        m = self.PATH.fullmatch(req.path)
        if m is None or req.method not in ("PATCH", "PUT"):
            return self._error(400, "Requested URI does not represent any resource")
        table, sys_id = unquote(m[1]), unquote(m[2])
        if table != self.table:
            return self._error(400, f"Invalid table {table}", f"Table {table} does not exist")
        if sys_id not in self._comments:
            detail = "Record doesn't exist or ACL restricts the record retrieval"
            return self._error(404, "No Record found", detail)
        element = next(iter(req.json), None) if isinstance(req.json, dict) else None
        if element in ("comments", "work_notes"):
            problem = _shape_problem(req.json, {element: str})
        else:
            problem = "expected exactly one of comments (customer-visible) or work_notes (internal)"
        if problem:
            return self._error(400, "Invalid request", problem)
        entry = {"sys_id": uuid.uuid4().hex, "element": element, "body": req.json[element],
                 "public": element == "comments"}  # fmt: skip
        self._comments[sys_id].append(entry)
        record = {
            "sys_id": sys_id, "number": self._numbers[sys_id], "state": "2",
            "short_description": "Laptop swap", "comments": "", "work_notes": "",
            "sys_updated_by": self.user, "sys_updated_on": _now().strftime("%Y-%m-%d %H:%M:%S"),
            "sys_mod_count": str(len(self._comments[sys_id])),
        }  # fmt: skip
        return _Reply(200, {"result": record})


def _handler_for(standin: _Standin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            reply, delay = standin.handle(Recorded(
                method=self.command, path=urlsplit(self.path).path,
                headers={k.lower(): v for k, v in self.headers.items()}, json=body,
            ))  # fmt: skip
            if delay and standin._stopping.wait(delay):
                return  # shutting down: no answer
            if isinstance(reply.body, str):
                payload, content_type = reply.body.encode(), "text/plain; charset=utf-8"
            else:
                payload, content_type = json.dumps(reply.body).encode(), "application/json"
            try:
                self.send_response(reply.status)
                for name, value in {**reply.headers, "Content-Type": content_type,
                                    "Content-Length": str(len(payload))}.items():  # fmt: skip
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler
