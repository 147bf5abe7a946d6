"""Posting a comment on the ticket a swap came from, in Jira Service Management, Zendesk or
ServiceNow (docs INTEGRATIONS.md, "Commenting back on a ticket").

    systems = parse_ticket_systems(settings_json)        # {"acme-zendesk": TicketSystem(...), ...}
    connector = connector_for(systems["acme-zendesk"])
    try:
        posted = connector.post_comment("35436", "Your replacement is on its way.", public=True)
    except TicketError as e:
        ...  # e.retryable: try again (after e.retry_after s, when the tool said); str(e) says why

A connector makes one request and says what came of it; when to try again is the caller's choice.
The secret (API token or password) goes only into the Authorization header: never into a message,
a repr or a log."""

import json
import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx

from app import outbound_http
from app.retry_after import parse_retry_after

TYPES = ("jira", "zendesk", "servicenow")
USER_AGENT = "spares-swap-service"
HEADERS = {"Accept": "application/json", "User-Agent": USER_AGENT}
REQUIRED = ("type", "base_url", "user", "secret")
OPTIONAL = {"jira": ("timeout",), "zendesk": ("timeout",), "servicenow": ("table", "timeout")}
NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
TABLE = re.compile(r"[a-z][a-z0-9_]*")
SYS_ID = re.compile(r"[0-9a-f]{32}")
ANSWER_CHARS = 200  # of the tool's answer quoted in an error message


@dataclass(frozen=True)
class TicketSystem:
    """One ticketing tool the service comments on. `name` is the `ticket.system` given at swap
    intake; `user` and `secret` are the Jira account email and API token, the Zendesk agent email
    and API token, or the ServiceNow user name and password."""

    name: str
    type: str  # "jira" | "zendesk" | "servicenow"
    base_url: str
    user: str
    secret: str = field(repr=False)
    table: str = "incident"  # ServiceNow: the table the tickets are records of
    timeout: float = 10.0  # seconds, to connect and to read the answer


@dataclass(frozen=True)
class Posted:
    """A comment the tool took: its HTTP status and the id it gave the comment (Jira) or the
    ticket update (Zendesk's audit), when it gives one."""

    status: int
    external_id: str | None


class TicketError(Exception):
    """A comment the tool did not take. `retryable`: the same request may succeed later, after
    `retry_after` seconds when the tool said so; `status`: the tool's HTTP status, None when no
    answer came (timeout, network error) or no request was made."""

    def __init__(
        self, message: str, *, retryable: bool, status: int | None = None,
        retry_after: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class TicketConnector(Protocol):
    """Posting comments on one ticketing tool's tickets."""

    supports_public: bool

    def post_comment(self, ticket_id: str, body: str, *, public: bool) -> Posted: ...


def parse_ticket_systems(raw: str) -> dict[str, TicketSystem]:
    """The ticket systems a settings string of JSON configures, by name:
    `{"<name>": {"type": "jira", "base_url": "https://acme.atlassian.net", "user": "...",
    "secret": "...", "timeout": 10}}` (ServiceNow also takes "table"). Empty → none.
    Raises ValueError naming the system and what is wrong with it."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:  # its message quotes no part of the text
        raise ValueError(f"ticket systems: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        # ValueError, as for every other setting the settings loader turns into a start-up error
        raise ValueError("ticket systems: expected a JSON object of systems by name")  # noqa: TRY004
    return {name: _system(name, entry) for name, entry in data.items()}


def _system(name: str, entry: Any) -> TicketSystem:
    def wrong(problem: str) -> ValueError:
        return ValueError(f"ticket system {name!r}: {problem}")

    if not NAME.fullmatch(name):
        raise wrong("the name must be lower-case letters, digits, '.', '_' or '-'")
    if not isinstance(entry, dict):
        raise wrong("expected an object with type, base_url, user and secret")
    kind = entry.get("type")
    if kind not in TYPES:
        raise wrong(f"type must be one of {', '.join(TYPES)}")
    missing = [f for f in REQUIRED if not isinstance(entry.get(f), str) or not entry[f].strip()]
    if missing:
        raise wrong(f"missing or empty: {', '.join(missing)}")
    unknown = sorted(set(entry) - {*REQUIRED, *OPTIONAL[kind]})
    if unknown:
        raise wrong(f"unknown field(s) for {kind}: {', '.join(unknown)}")
    url = urlsplit(entry["base_url"])
    if url.scheme not in ("http", "https") or not url.hostname or url.username or url.query:
        raise wrong("base_url must be an http(s):// URL, without credentials or a query")
    options: dict[str, Any] = {}
    if "timeout" in entry:
        timeout = entry["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) \
                or not 0 < timeout < math.inf:  # fmt: skip
            raise wrong("timeout must be a positive number of seconds")
        options["timeout"] = float(timeout)
    if "table" in entry:
        if not isinstance(entry["table"], str) or not TABLE.fullmatch(entry["table"]):
            raise wrong("table must be a table name such as 'incident'")
        options["table"] = entry["table"]
    return TicketSystem(name=name, type=kind, base_url=entry["base_url"].rstrip("/"),
                        user=entry["user"], secret=entry["secret"], **options)  # fmt: skip


def looks_like_sys_id(value: str) -> bool:
    """Whether `value` is a ServiceNow record's sys_id: 32 lower-case hex characters."""
    return bool(SYS_ID.fullmatch(value))


def connector_for(system: TicketSystem, *, client: httpx.Client | None = None) -> TicketConnector:
    """The connector for `system`'s tool. With `client`, requests go through it (the caller owns
    and closes it); without, each comment opens and closes a client of its own."""
    connectors: dict[str, type[_Connector]] = {
        "jira": JiraConnector, "zendesk": ZendeskConnector, "servicenow": ServiceNowConnector,
    }  # fmt: skip
    if system.type not in connectors:
        raise ValueError(f"ticket system {system.name!r}: unknown type {system.type!r}")
    return connectors[system.type](system, client)


class _Connector(ABC):
    """One request per comment: the tool's method, path and JSON, Basic auth, and its answer
    classified into a Posted or a TicketError."""

    supports_public = True  # all three tools post customer-visible comments and internal notes

    def __init__(self, system: TicketSystem, client: httpx.Client | None = None) -> None:
        self.system = system
        self._client = client

    def post_comment(self, ticket_id: str, body: str, *, public: bool) -> Posted:
        """Posts `body` on the ticket: visible to the customer when `public`, else internal."""
        self._check(ticket_id)
        method, path, payload = self._request(quote(ticket_id, safe=""), body, public)
        url = self.system.base_url + path
        try:
            if self._client is not None:
                response = self._send(self._client, method, url, payload)
            else:
                with outbound_http.client() as client:
                    response = self._send(client, method, url, payload)
        except httpx.TimeoutException as e:
            raise self._failure(ticket_id, f"no answer within {self.system.timeout:g} s",
                                retryable=True) from e  # fmt: skip
        except httpx.TransportError as e:
            raise self._failure(ticket_id, f"could not reach it ({e})", retryable=True) from e
        answer = _json(response)
        if response.is_success:
            return Posted(response.status_code, self._external_id(answer))
        status = response.status_code
        retryable = status in (408, 429) or status >= 500
        said = _short(self._describe(answer) or response.text or response.reason_phrase)
        raise self._failure(
            ticket_id, f"HTTP {status}: {said}", retryable=retryable, status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")) if retryable else None,
        )  # fmt: skip

    def _send(self, client: httpx.Client, method: str, url: str, payload: dict) -> httpx.Response:
        return client.request(method, url, json=payload, auth=self._auth(), headers=HEADERS,
                              timeout=self.system.timeout)  # fmt: skip

    def _failure(self, ticket_id: str, what: str, **details: Any) -> TicketError:
        system = self.system
        message = f"{system.type} {system.name!r}: no comment on ticket {ticket_id!r}: {what}"
        if system.secret:  # in case the tool echoes it
            message = message.replace(system.secret, "***")
        return TicketError(message, **details)

    def _check(self, ticket_id: str) -> None:
        if ticket_id.strip() in ("", ".", ".."):
            raise self._failure(ticket_id, "that is not a ticket id", retryable=False)

    def _auth(self) -> tuple[str, str]:
        return self.system.user, self.system.secret

    @abstractmethod
    def _request(self, ticket: str, body: str, public: bool) -> tuple[str, str, dict]:
        """(method, path, JSON) of the call, `ticket` already quoted for the path."""

    @abstractmethod
    def _describe(self, answer: Any) -> str | None:
        """The message in the tool's error body, when it has its usual shape."""

    def _external_id(self, answer: Any) -> str | None:
        return None


class JiraConnector(_Connector):
    """Jira Service Management: a comment on a customer request, public or internal."""

    def _request(self, ticket: str, body: str, public: bool) -> tuple[str, str, dict]:
        payload = {"body": body, "public": public}
        return "POST", f"/rest/servicedeskapi/request/{ticket}/comment", payload

    def _describe(self, answer: Any) -> str | None:
        # Service Management: {"errorMessage": ...}; the platform: {"errorMessages", "errors"}
        if not isinstance(answer, dict):
            return None
        listed = answer.get("errorMessages")
        errors = answer.get("errors")
        return _join(answer.get("errorMessage"), answer.get("message"),
                     *(listed if isinstance(listed, list) else ()),
                     *(errors.values() if isinstance(errors, dict) else ()))  # fmt: skip

    def _external_id(self, answer: Any) -> str | None:
        return _id(answer.get("id")) if isinstance(answer, dict) else None


class ZendeskConnector(_Connector):
    """Zendesk Support: a ticket update adding a comment, public or internal (a private note)."""

    def _auth(self) -> tuple[str, str]:
        return f"{self.system.user}/token", self.system.secret

    def _request(self, ticket: str, body: str, public: bool) -> tuple[str, str, dict]:
        payload = {"ticket": {"comment": {"body": body, "public": public}}}
        return "PUT", f"/api/v2/tickets/{ticket}.json", payload

    def _describe(self, answer: Any) -> str | None:
        # {"error": "RecordNotFound", "description": "Not found"} or {"error": {"title", "message"}}
        error = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(error, dict):
            return _join(error.get("title"), error.get("message"))
        return _join(error, answer.get("description")) if error else None

    def _external_id(self, answer: Any) -> str | None:
        audit = answer.get("audit") if isinstance(answer, dict) else None
        return _id(audit.get("id")) if isinstance(audit, dict) else None


class ServiceNowConnector(_Connector):
    """ServiceNow: a record update writing the journal field `comments` (customer-visible) or
    `work_notes` (internal). The ticket is known by its record's sys_id, not its number."""

    def _check(self, ticket_id: str) -> None:
        if not looks_like_sys_id(ticket_id):
            raise self._failure(ticket_id, "a ServiceNow ticket is known by its record's sys_id "
                                "(32 hex characters), not its number", retryable=False)  # fmt: skip

    def _request(self, ticket: str, body: str, public: bool) -> tuple[str, str, dict]:
        field_name = "comments" if public else "work_notes"
        return "PATCH", f"/api/now/table/{quote(self.system.table)}/{ticket}", {field_name: body}

    def _describe(self, answer: Any) -> str | None:
        # {"error": {"message": ..., "detail": ...}, "status": "failure"}
        error = answer.get("error") if isinstance(answer, dict) else None
        return _join(error.get("message"), error.get("detail")) if isinstance(error, dict) else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _join(*parts: Any) -> str | None:
    return " — ".join(p.strip() for p in parts if isinstance(p, str) and p.strip()) or None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ANSWER_CHARS else text[: ANSWER_CHARS - 1] + "…"


def _id(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
