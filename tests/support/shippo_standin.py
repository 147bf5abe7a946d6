"""A stand-in Shippo API for tests, per docs SHIPPO.md §5: exact success codes, JSON content type,
full embedded objects, `created_by: null` on transactions, `messages: []` on tracks.

It runs a stdlib ThreadingHTTPServer on 127.0.0.1 (free port) in a background thread, keeps the
objects it created, records every request, and can be told to misbehave:

    with ShippoStandin() as api:
        carrier = ShippoCarrier("shippo_test_x", server_url=api.url)
        api.fail_next("/transactions", 429, retry_after="7")
        api.delay_next("/transactions", 2.0)      # still creates the label, answers late
        api.queue_transactions(2)                 # QUEUED, SUCCESS on the 2nd GET
        api.error_transactions([{"source": "UPS", "code": "carrier_timeout", "text": "…"}])

Faults at random rates can also be set from outside the process that runs it, so the same drills
can be run by hand (`python -m tests.support.shippo_standin --port 8099`, then):

    curl -X POST localhost:8099/__standin/faults -d '{"paths": ["/transactions", "/pickups"],
         "latency": [2, 4.5], "rates": {"429": 0.1, "503": 0.1, "timeout": 0.05, "lost": 0.05},
         "hang": 40, "seed": 7}'
    curl localhost:8099/__standin/counts      # labels and pickups made, per reference

429 and 503 refuse without doing anything; "timeout" does the work and answers only after `hang`
seconds; "lost" does the work and drops the connection without answering; latency slows every
matching request down before its work is done (a slow carrier), so a label bought slowly appears
only when its answer is about to be sent."""

import argparse
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.servers import BackgroundServer

OWNER = "standin@example.com"
AUTH = re.compile(r"^ShippoToken shippo_(test|live)_\w+$")
BUILDING_LOCATION_TYPES = {
    "Back Door", "Ring Bell", "Security Deck", "Shipping Dock", "Front Door", "Knock on Door",
    "In/At Mailbox", "Mail Room", "Office", "Other", "Reception", "Side Door",
}  # fmt: skip
# (provider, token, name, estimated_days, base price, price per kg, carrier account)
SERVICES = [
    ("USPS", "usps_priority_express", "Priority Mail Express", 1, "26.35", "2.10", "ca_usps"),
    ("USPS", "usps_ground_advantage", "Ground Advantage", 3, "7.90", "0.85", "ca_usps"),
    ("DHL Express", "dhl_express_domestic_express_doc", "Domestic Express", 1, "31.20", "2.50",
     "ca_dhl"),
]  # fmt: skip
# carrier "shippo" test numbers: SHIPPO_<STATUS> → this history (status, substatus, details)
SHIPPO_TEST_HISTORY = {
    "PRE_TRANSIT": [("PRE_TRANSIT", "information_received", "Label created")],
    "TRANSIT": [
        ("PRE_TRANSIT", "information_received", "Label created"),
        ("TRANSIT", "package_accepted", "Accepted at origin facility"),
    ],
    "DELIVERED": [
        ("PRE_TRANSIT", "information_received", "Label created"),
        ("TRANSIT", "package_accepted", "Accepted at origin facility"),
        ("TRANSIT", "out_for_delivery", "Out for delivery"),
        ("DELIVERED", "delivered", "Delivered, front door"),
    ],
    "RETURNED": [
        ("PRE_TRANSIT", "information_received", "Label created"),
        ("TRANSIT", "package_accepted", "Accepted at origin facility"),
        ("RETURNED", "return_to_sender", "Returned to sender"),
    ],
    "FAILURE": [
        ("PRE_TRANSIT", "information_received", "Label created"),
        ("TRANSIT", "package_accepted", "Accepted at origin facility"),
        ("FAILURE", "package_lost", "Package lost"),
    ],
    "UNKNOWN": [("UNKNOWN", "other", "No information yet")],
}
ACTION_REQUIRED = {"package_lost"}
TRACK_EPOCH = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


EU = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
      "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}  # written out here, not read from the app under test
CONTENTS = {"DOCUMENTS", "GIFT", "SAMPLE", "MERCHANDISE", "HUMANITARIAN_DONATION", "RETURN_MERCHANDISE", "OTHER"}
INCOTERMS = {"DDP", "DDU", "FCA", "DAP", "eDAP"}
EEL_PFC = {"NOEEI_30_37_a", "NOEEI_30_37_h", "NOEEI_30_37_f", "NOEEI_30_36", "AES_ITN"}


def _declaration(request: dict, now: str) -> dict:
    """The CustomsDeclaration object Shippo answers with: the request, its items by id."""
    return {**request, "items": [_id() for _ in request["items"]], "object_id": _id(), "object_owner": OWNER,
            "object_state": "VALID", "object_created": now, "object_updated": now, "test": True}


def _crosses_customs(a: str, b: str) -> bool:
    return a.upper() != b.upper() and not (a.upper() in EU and b.upper() in EU)


def _customs_problems(d: dict) -> list[str]:
    """What Shippo would refuse in an inline customs declaration (CustomsDeclarationCreateRequest)."""
    problems = [f"{f} is required." for f in ("certify", "certify_signer", "contents_type", "non_delivery_option",
                                               "items") if d.get(f) in (None, "", [])]
    if d.get("certify") is not True:
        problems.append("certify must be true.")
    if d.get("contents_type") not in CONTENTS:
        problems.append(f"contents_type {d.get('contents_type')!r} is not one of {sorted(CONTENTS)}.")
    if d.get("non_delivery_option") not in {"ABANDON", "RETURN"}:
        problems.append("non_delivery_option must be ABANDON or RETURN.")
    if d.get("incoterm") is not None and d["incoterm"] not in INCOTERMS:
        problems.append(f"incoterm {d['incoterm']!r} is not valid.")
    if d.get("eel_pfc") is not None and d["eel_pfc"] not in EEL_PFC:
        problems.append(f"eel_pfc {d['eel_pfc']!r} is not valid.")
    for n, item in enumerate(d.get("items") or []):
        for f in ("description", "quantity", "net_weight", "mass_unit", "origin_country", "value_amount",
                  "value_currency"):
            if item.get(f) in (None, ""):
                problems.append(f"items[{n}].{f} is required.")
        if len(str(item.get("origin_country", ""))) != 2:
            problems.append(f"items[{n}].origin_country must be a 2-letter country code.")
    return problems


def _id() -> str:
    return uuid.uuid4().hex


@dataclass
class Recorded:
    method: str
    path: str  # without query string and trailing slash
    query: dict[str, list[str]]
    json: Any
    headers: dict[str, str]  # lower-case names


@dataclass
class _Rule:
    method: str | None
    prefix: str
    times: int
    status: int = 0
    retry_after: str | None = None
    body: Any = None
    seconds: float = 0.0


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering (the answer is lost)


@dataclass
class Faults:
    """Random misbehaviour for requests whose path starts with one of `paths` (all when empty)."""

    paths: list[str] = field(default_factory=list)
    latency: tuple[float, float] = (0.0, 0.0)
    rates: dict[str, float] = field(default_factory=dict)  # "429" | "503" | "timeout" | "lost" → share
    hang: float = 60.0
    seed: int = 0

    def applies(self, path: str) -> bool:
        return not self.paths or any(path.startswith(p) for p in self.paths)


class ShippoStandin(BackgroundServer):
    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.requests: list[Recorded] = []
        self.addresses: dict[str, dict] = {}
        self.parcels: dict[str, dict] = {}
        self.shipments: dict[str, dict] = {}
        self.declarations: list[dict] = []  # customs declarations received inline, well formed
        self.rates: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.pickups: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.refund_outcome = "SUCCESS"  # what the carrier makes of a refund request
        self.invalid_zips = {"00000"}  # addresses with these postcodes fail validation
        self._polls_left: dict[str, int] = {}
        self._queue_polls = 0
        self._tx_errors: list[tuple[list[dict], int]] = []
        self._faults: list[_Rule] = []
        self._delays: list[_Rule] = []
        self._random = Faults()
        self._rng = random.Random(0)
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------

    def _handler(self):
        return _handler_for(self)

    # -- test controls ------------------------------------------------------------------------

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        times: int = 1,
        retry_after: str | float | None = None,
        body: Any = None,
        method: str | None = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` and do nothing else."""
        if body is None:
            body = {"detail": "Request was throttled." if status == 429 else "Server error."}
        ra = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.append(_Rule(method, path_prefix, times, status, ra, body))

    def delay_next(
        self, path_prefix: str, seconds: float, times: int = 1, method: str | None = None
    ) -> None:
        """Do the work, then wait before answering: past a client timeout this is the
        "label bought but the answer was lost" case."""
        with self._lock:
            self._delays.append(_Rule(method, path_prefix, times, seconds=seconds))

    def queue_transactions(self, n_polls: int) -> None:
        """New transactions answer QUEUED and turn SUCCESS on their n-th GET."""
        self._queue_polls = n_polls

    def error_transactions(self, messages: list[dict], times: int = 1) -> None:
        """The next `times` transactions end in ERROR with these carrier messages."""
        with self._lock:
            self._tx_errors.append((messages, times))

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self._random, self._rng = faults, random.Random(faults.seed)

    def counts(self) -> dict[str, Any]:
        """What was made, for drills: labels and pickups per reference (metadata)."""
        with self._lock:
            labels: dict[str, int] = {}
            for tx in self.transactions.values():
                if tx["status"] in ("SUCCESS", "QUEUED", "REFUNDED", "REFUNDPENDING", "REFUNDREJECTED"):
                    labels[tx["metadata"]] = labels.get(tx["metadata"], 0) + 1
            pickups: dict[str, int] = {}
            for p in self.pickups.values():
                pickups[p.get("metadata", "")] = pickups.get(p.get("metadata", ""), 0) + 1
            return {"labels": labels, "pickups": pickups,
                    "requests": len(self.requests), "refunds": len(self.refunds)}

    def calls(self, method: str, path_prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # -- dispatch -----------------------------------------------------------------------------

    def _take(self, rules: list[_Rule], method: str, path: str) -> _Rule | None:
        for rule in rules:
            if (rule.method in (None, method)) and path.startswith(rule.prefix):
                rule.times -= 1
                if rule.times <= 0:
                    rules.remove(rule)
                return rule
        return None

    def handle(self, req: Recorded) -> tuple[_Reply, float]:
        """(the reply, seconds to wait before sending it)."""
        if req.path.startswith("/__standin/"):
            return self._control(req), 0.0
        with self._lock:
            self.requests.append(req)
            delay = self._take(self._delays, req.method, req.path)
            fault = self._take(self._faults, req.method, req.path)
            chance, slow = None, 0.0
            if fault is None and req.method == "POST" and self._random.applies(req.path):
                chance = self._chance()
                low, high = self._random.latency
                slow = self._rng.uniform(low, high) if high else 0.0
        if slow and self._stopping.wait(slow):  # a slow carrier: the work itself lands late
            return _Reply(503, {"detail": "Shutting down."}), 0.0
        seconds = delay.seconds if delay else 0.0
        with self._lock:
            if fault is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                reply = _Reply(fault.status, fault.body, headers)
            elif chance in ("429", "503"):
                reply = _Reply(int(chance), {"detail": "Request was throttled." if chance == "429" else
                                             "Service unavailable."}, {"Retry-After": "1"})
            elif not AUTH.match(req.headers.get("authorization", "")):
                reply = _Reply(401, {"detail": "Invalid token."})
            else:
                reply = self._route(req)  # the work is done, whatever happens to the answer
                if chance == "timeout":
                    seconds = max(seconds, self._random.hang)
                elif chance == "lost":
                    reply.drop = True
        return reply, seconds

    def _chance(self) -> str | None:
        roll = self._rng.random()
        for kind, share in self._random.rates.items():
            if roll < share:
                return kind
            roll -= share
        return None

    def _control(self, req: Recorded) -> _Reply:
        if req.path == "/__standin/faults" and req.method == "POST":
            body = req.json or {}
            self.set_faults(Faults(paths=list(body.get("paths", [])),
                                   latency=tuple(body.get("latency", (0.0, 0.0))),
                                   rates={str(k): float(v) for k, v in body.get("rates", {}).items()},
                                   hang=float(body.get("hang", 60.0)), seed=int(body.get("seed", 0))))
            return _Reply(200, {"ok": True})
        if req.path == "/__standin/counts" and req.method == "GET":
            return _Reply(200, self.counts())
        return _Reply(404, {"detail": "Not found."})

    def _route(self, req: Recorded) -> _Reply:
        routes: list[tuple[str, str, Callable[..., _Reply]]] = [
            ("POST", r"/addresses", self._create_address),
            ("GET", r"/addresses/(\w+)", lambda r, i: self._get(self.addresses, i)),
            ("POST", r"/parcels", self._create_parcel),
            ("POST", r"/shipments", self._create_shipment),
            ("GET", r"/shipments/(\w+)", self._get_shipment),
            ("GET", r"/rates/(\w+)", lambda r, i: self._get(self.rates, i)),
            ("POST", r"/transactions", self._create_transaction),
            ("GET", r"/transactions", self._list_transactions),
            ("GET", r"/transactions/(\w+)", self._get_transaction),
            ("POST", r"/refunds", self._create_refund),
            ("POST", r"/pickups", self._create_pickup),
            ("POST", r"/tracks", self._post_track),
            ("GET", r"/tracks/([\w-]+)/([\w-]+)", lambda r, c, n: _Reply(200, self._track(c, n))),
        ]
        for method, pattern, fn in routes:
            m = re.fullmatch(pattern, req.path)
            if m and method == req.method:
                return fn(req, *m.groups())
        return _Reply(404, {"detail": "Not found."})

    def _get(self, objects: dict[str, dict], object_id: str) -> _Reply:
        if object_id not in objects:
            return _Reply(404, {"detail": "Not found."})
        return _Reply(200, objects[object_id])

    # -- addresses, parcels, shipments, rates -------------------------------------------------

    def _address(self, body: dict) -> dict:
        now = _iso(datetime.now(UTC))
        fields = ("name", "company", "street1", "street2", "city", "state", "zip", "country",
                  "phone", "email")  # fmt: skip
        address = {f: body.get(f, "") for f in fields}
        complete = all(address[f] for f in ("name", "street1", "city", "zip", "country"))
        results: dict = {}
        if body.get("validate"):
            valid = complete and address["zip"] not in self.invalid_zips
            messages = [] if valid else [{
                "source": "Shippo Address Validator", "code": "Unknown Street", "type": "address_error",
                "text": "The address as submitted could not be found. Please check for excessive "
                        "abbreviations in the street address line or for incorrect information.",
            }]  # fmt: skip
            results = {"is_valid": valid, "messages": messages}
        address.update(
            object_id=_id(), object_owner=OWNER, object_created=now, object_updated=now,
            street3="", is_complete=complete, is_residential=None, validation_results=results,
            metadata=body.get("metadata", ""), test=True,
        )  # fmt: skip
        self.addresses[address["object_id"]] = address
        return address

    def _create_address(self, req: Recorded) -> _Reply:
        if not (req.json or {}).get("country"):
            return _Reply(400, {"country": ["This field is required."]})
        return _Reply(201, self._address(req.json))

    def _parcel(self, body: dict) -> dict:
        now = _iso(datetime.now(UTC))
        parcel = {f: body[f] for f in ("length", "width", "height", "distance_unit", "weight",
                                       "mass_unit")}  # fmt: skip
        parcel.update(
            object_id=_id(), object_owner=OWNER, object_state="VALID", object_created=now,
            object_updated=now, template=None, metadata=body.get("metadata", ""), extra={},
            test=True,
        )  # fmt: skip
        self.parcels[parcel["object_id"]] = parcel
        return parcel

    def _create_parcel(self, req: Recorded) -> _Reply:
        missing = [f for f in ("length", "width", "height", "distance_unit", "weight",
                               "mass_unit") if f not in (req.json or {})]  # fmt: skip
        if missing:
            return _Reply(400, {f: ["This field is required."] for f in missing})
        return _Reply(201, self._parcel(req.json))

    def _create_shipment(self, req: Recorded) -> _Reply:
        body = req.json or {}
        missing = [f for f in ("address_from", "address_to", "parcels") if not body.get(f)]
        if missing:
            return _Reply(400, {f: ["This field is required."] for f in missing})

        def resolve(value: Any, store: dict[str, dict], make: Callable[[dict], dict]) -> dict:
            return store[value] if isinstance(value, str) else make(value)

        try:
            from_ = resolve(body["address_from"], self.addresses, self._address)
            to = resolve(body["address_to"], self.addresses, self._address)
            parcels = [resolve(p, self.parcels, self._parcel) for p in body["parcels"]]
        except KeyError as e:
            return _Reply(400, {"__all__": [f"Object {e.args[0]} does not exist."]})
        declaration = body.get("customs_declaration")
        if declaration is None and _crosses_customs(from_["country"], to["country"]):
            required = "Customs declaration is required for international shipments."
            return _Reply(400, {"customs_declaration": [required]})
        if declaration is not None:
            problems = _customs_problems(declaration)
            if problems:
                return _Reply(400, {"customs_declaration": problems})
            self.declarations.append(declaration)
        now = _iso(datetime.now(UTC))
        shipment_id = _id()
        weight = sum(Decimal(p["weight"]) for p in parcels)
        rates = [self._rate(shipment_id, service, weight, now) for service in SERVICES]
        shipment = {
            "object_id": shipment_id, "object_owner": OWNER, "object_created": now,
            "object_updated": now, "status": "SUCCESS", "address_from": from_, "address_to": to,
            "address_return": from_, "parcels": parcels, "shipment_date": now,
            "extra": body.get("extra", {}), "customs_declaration": _declaration(declaration, now) if declaration
            else None,
            "carrier_accounts": [],
            "metadata": body.get("metadata", ""), "messages": [], "rates": rates, "test": True,
        }  # fmt: skip
        self.shipments[shipment_id] = shipment
        if body.get("async"):  # rates arrive later: GET /shipments/{id}
            return _Reply(201, {**shipment, "status": "QUEUED", "rates": []})
        return _Reply(201, shipment)

    def _get_shipment(self, req: Recorded, shipment_id: str) -> _Reply:
        return self._get(self.shipments, shipment_id)

    def _rate(self, shipment_id: str, service: tuple, weight: Decimal, now: str) -> dict:
        provider, token, name, days, base, per_kg, account = service
        amount = (Decimal(base) + Decimal(per_kg) * weight).quantize(Decimal("0.01"))
        rate = {
            "object_id": _id(), "object_owner": OWNER, "object_created": now,
            "shipment": shipment_id, "attributes": ["FASTEST"] if days == 1 else ["CHEAPEST"],
            "amount": str(amount), "currency": "USD", "amount_local": str(amount),
            "currency_local": "USD", "provider": provider,
            "provider_image_75": "", "provider_image_200": "",
            "servicelevel": {"name": name, "token": token, "terms": "", "extended_token": token,
                             "parent_servicelevel": None},
            "estimated_days": days, "arrives_by": None, "duration_terms": f"{days} business days",
            "messages": [], "carrier_account": account, "test": True, "zone": "1",
            "included_insurance_price": None,
        }  # fmt: skip
        self.rates[rate["object_id"]] = rate
        return rate

    # -- transactions -------------------------------------------------------------------------

    def _create_transaction(self, req: Recorded) -> _Reply:
        body = req.json or {}
        rate_id = body.get("rate")
        if rate_id not in self.rates:
            return _Reply(400, {"rate": [f"Rate with object_id {rate_id} does not exist."]})
        now = _iso(datetime.now(UTC))
        tx = {
            "object_id": _id(), "object_owner": OWNER, "object_state": "VALID",
            "object_created": now, "object_updated": now, "status": "QUEUED", "rate": rate_id,
            "parcel": self.shipments[self.rates[rate_id]["shipment"]]["parcels"][0]["object_id"],
            "metadata": body.get("metadata", ""), "label_file_type": body.get("label_file_type"),
            "test": True, "tracking_number": "", "tracking_status": None,
            "tracking_url_provider": "", "label_url": "", "commercial_invoice_url": None,
            "qr_code_url": None, "eta": None, "messages": [],
            "created_by": None,  # the SDK crashes on a Transaction without this key
        }  # fmt: skip
        self.transactions[tx["object_id"]] = tx
        polls = self._queue_polls or (1 if body.get("async", True) else 0)
        if polls:
            self._polls_left[tx["object_id"]] = polls
        else:
            self._finish(tx)
        return _Reply(201, tx)

    def _finish(self, tx: dict) -> None:
        if self._tx_errors:
            messages, times = self._tx_errors.pop(0)
            if times > 1:
                self._tx_errors.insert(0, (messages, times - 1))
            tx.update(status="ERROR", messages=messages)
            return
        number = "9205590" + str(int(tx["object_id"][:12], 16)).zfill(15)[-15:]
        tx.update(
            status="SUCCESS", tracking_number=number, tracking_status="UNKNOWN",
            tracking_url_provider=f"https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
            label_url=f"{self.url}/labels/{tx['object_id']}.pdf",
            eta=_iso(datetime.now(UTC) + timedelta(days=1)),
        )  # fmt: skip

    def _get_transaction(self, req: Recorded, tx_id: str) -> _Reply:
        if tx_id not in self.transactions:
            return _Reply(404, {"detail": "Not found."})
        tx = self.transactions[tx_id]
        if tx_id in self._polls_left:
            self._polls_left[tx_id] -= 1
            if self._polls_left[tx_id] <= 0:
                del self._polls_left[tx_id]
                self._finish(tx)
        return _Reply(200, tx)

    def _list_transactions(self, req: Recorded) -> _Reply:
        found = list(self.transactions.values())
        if "rate" in req.query:
            found = [t for t in found if t["rate"] == req.query["rate"][0]]
        if "object_status" in req.query:
            found = [t for t in found if t["status"] == req.query["object_status"][0]]
        return _Reply(200, {"next": None, "previous": None, "results": found})

    def _create_refund(self, req: Recorded) -> _Reply:
        tx_id = (req.json or {}).get("transaction")
        tx = self.transactions.get(tx_id)
        if tx is None:
            return _Reply(400, {"transaction": [f"Transaction with object_id {tx_id} does not exist."]})
        if tx["status"] != "SUCCESS":
            return _Reply(400, {"transaction": [f"Transaction is {tx['status']} and cannot be refunded."]})
        now = _iso(datetime.now(UTC))
        refund = {"object_id": _id(), "object_owner": OWNER, "object_created": now, "object_updated": now,
                  "status": self.refund_outcome, "transaction": tx_id, "test": True}
        self.refunds[refund["object_id"]] = refund
        tx["status"] = {"SUCCESS": "REFUNDED", "ERROR": "REFUNDREJECTED"}.get(self.refund_outcome, "REFUNDPENDING")
        return _Reply(201, refund)

    # -- pickups and tracking -----------------------------------------------------------------

    def _create_pickup(self, req: Recorded) -> _Reply:
        body = req.json or {}
        location = body.get("location") or {}
        address = location.get("address") or {}
        problems: dict[str, list] = {}
        for f in ("carrier_account", "requested_start_time", "requested_end_time"):
            if not body.get(f):
                problems[f] = ["This field is required."]
        missing = [f for f in ("name", "street1", "city", "state", "zip", "country")
                   if not address.get(f)]  # fmt: skip
        if missing:
            problems["location"] = [{"address": {f: ["This field is required."] for f in missing}}]
        if location.get("building_location_type") not in BUILDING_LOCATION_TYPES:
            problems["building_location_type"] = ["Not a valid choice."]
        unknown = [t for t in body.get("transactions") or [] if t not in self.transactions]
        if unknown or not body.get("transactions"):
            problems["transactions"] = [f"Unknown or missing transactions: {unknown}"]
        if problems:
            return _Reply(400, problems)
        now = _iso(datetime.now(UTC))
        pickup = {
            **body, "object_id": _id(), "object_created": now, "object_updated": now,
            "status": "CONFIRMED", "confirmation_code": "WTC" + _id()[:8].upper(),
            "confirmed_start_time": body["requested_start_time"],
            "confirmed_end_time": body["requested_end_time"],
            "cancel_by_time": body["requested_start_time"], "timezone": "UTC",
            "messages": [], "is_test": True,
        }  # fmt: skip
        self.pickups[pickup["object_id"]] = pickup
        return _Reply(201, pickup)

    def _post_track(self, req: Recorded) -> _Reply:
        body = req.json or {}
        if not body.get("carrier") or not body.get("tracking_number"):
            return _Reply(400, {"carrier": ["This field is required."]})
        track = self._track(body["carrier"], body["tracking_number"])
        return _Reply(200, {**track, "metadata": body.get("metadata")})

    def _track(self, carrier: str, number: str) -> dict:
        history: list[tuple[str, str, str]] = []
        transaction = None
        if carrier == "shippo" and number.startswith("SHIPPO_"):
            history = SHIPPO_TEST_HISTORY.get(number.removeprefix("SHIPPO_"), [])
        else:
            for tx in self.transactions.values():
                if tx["tracking_number"] == number:
                    transaction = tx["object_id"]
                    history = SHIPPO_TEST_HISTORY["PRE_TRANSIT"]
        statuses = [
            _tracking_status(status, sub, details, TRACK_EPOCH + timedelta(hours=6 * i))
            for i, (status, sub, details) in enumerate(history)
        ]
        return {
            "carrier": carrier, "tracking_number": number, "transaction": transaction,
            "address_from": {"city": "San Francisco", "state": "CA", "zip": "94103", "country": "US"},
            "address_to": {"city": "Chicago", "state": "IL", "zip": "60611", "country": "US"},
            "eta": _iso(TRACK_EPOCH + timedelta(days=1)), "original_eta": None,
            "servicelevel": {"token": "usps_priority_express", "name": "Priority Mail Express"},
            "metadata": None, "tracking_status": statuses[-1] if statuses else None,
            "tracking_history": statuses, "messages": [],
        }  # fmt: skip


def _tracking_status(status: str, substatus: str, details: str, when: datetime) -> dict:
    return {
        "object_id": _id(), "object_created": _iso(when), "object_updated": _iso(when),
        "status": status, "status_details": details, "status_date": _iso(when),
        "substatus": {"code": substatus, "text": details,
                      "action_required": substatus in ACTION_REQUIRED},
        "location": {"city": "Chicago", "state": "IL", "zip": "60611", "country": "US"},
    }  # fmt: skip


def _handler_for(api: ShippoStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            recorded = Recorded(
                method=self.command,
                path=parts.path.rstrip("/") or "/",  # paths work with or without a final slash
                query=parse_qs(parts.query),
                json=body,
                headers={k.lower(): v for k, v in self.headers.items()},
            )
            reply, delay = api.handle(recorded)
            if delay and api._stopping.wait(delay):
                return
            if reply.drop:  # the work is done; the answer never leaves
                self.close_connection = True
                return
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.status == 204:
                    self.end_headers()
                    return
                payload = json.dumps(reply.body).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


def main() -> None:
    """Run the stand-in on its own, for drills by hand."""
    parser = argparse.ArgumentParser(description="Shippo stand-in for drills")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    api = ShippoStandin(port=args.port).start()
    print(f"Shippo stand-in on {api.url} (faults: POST {api.url}/__standin/faults)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        api.stop()


if __name__ == "__main__":
    main()
