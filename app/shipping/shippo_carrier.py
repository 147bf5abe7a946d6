"""`Carrier` over the official shippo 3.9.0 SDK (see docs SHIPPO.md for its quirks).

The SDK has no timeout and no working retries, raises one `SDKError` for every HTTP failure, and
lets decoding problems escape as KeyError/ValueError/AttributeError. All of that is turned into
`CarrierError` here; nothing is retried here, the caller owns retries (and the purchase
reconciliation they need)."""

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import requests
import shippo
import urllib3
from shippo.models import components, errors, operations

from app.retry_after import parse_retry_after
from app.shipping.carrier import (
    Address,
    AddressCheck,
    CarrierError,
    Customs,
    Label,
    LabelStatus,
    Parcel,
    PermanentCarrierError,
    Pickup,
    Rate,
    Refund,
    RefundStatus,
    TemporaryCarrierError,
    Tracking,
    TrackingEvent,
    check_reference,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
API_VERSION = "2018-02-08"  # pinned: the account default may differ and change shapes
PENDING = {"QUEUED", "WAITING"}
# A transaction's status once a refund was asked for, as the refund's own status.
REFUNDED: dict[str, RefundStatus] = {"REFUNDED": "SUCCESS", "REFUNDPENDING": "PENDING", "REFUNDREJECTED": "ERROR"}
LABEL_STATUS: dict[str, LabelStatus] = {
    "SUCCESS": "SUCCESS",
    "REFUNDREJECTED": "SUCCESS",  # the refund was refused, so the label is still good
    "QUEUED": "QUEUED",
    "WAITING": "QUEUED",
    "ERROR": "ERROR",
}


class TimeoutSession(requests.Session):
    """The SDK calls `send` without a timeout; a hung connection would block forever."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().send(request, **kwargs)


def carrier_token(provider: str) -> str:
    """Shippo's carrier token from a rate's provider name ("DHL Express" → "dhl_express")."""
    return provider.strip().lower().replace(" ", "_")


class ShippoCarrier:
    name = "shippo"
    finds_pickups = False  # Shippo can create a pickup, never list, fetch or cancel one

    def __init__(
        self,
        api_key: str,
        server_url: str | None = None,
        timeout: tuple[float, float] = (3, 30),
        *,
        poll_attempts: int = 5,
        poll_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sdk = shippo.Shippo(
            api_key_header=api_key,
            shippo_api_version=API_VERSION,
            server_url=server_url,
            client=TimeoutSession(timeout),
        )
        # Our client gives up after the read timeout; a request Shippo is still working on after twice
        # that is not one we plan for.
        self.settle_after = timedelta(seconds=2 * timeout[1])
        self._poll_attempts = poll_attempts
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._rates: dict[str, components.Rate] = {}  # rate id → rate, saves a GET per purchase

    def __repr__(self) -> str:  # the key stays out of reprs, tracebacks and logs
        return "ShippoCarrier()"

    # -- the port ---------------------------------------------------------------------------

    def get_rates(
        self,
        *,
        from_addr: Address,
        to_addr: Address,
        parcel: Parcel,
        reference: str,
        is_return: bool = False,
        customs: Customs | None = None,
    ) -> list[Rate]:
        request = components.ShipmentCreateRequest(
            # For returns keep the outbound orientation: Shippo swaps the addresses itself.
            address_from=_address_request(from_addr),
            address_to=_address_request(to_addr),
            parcels=[_parcel_request(parcel)],
            extra=components.ShipmentExtra(is_return=True) if is_return else None,
            metadata=check_reference(reference),
            customs_declaration=_customs_request(customs) if customs else None,
            async_=False,  # otherwise the answer may come back QUEUED with no rates
        )
        shipment = self._call("create shipment", self._sdk.shipments.create, request)
        if not shipment.rates and shipment.messages:
            texts = [_message_text(m) for m in shipment.messages]
            raise PermanentCarrierError("no rates: " + "; ".join(texts), messages=texts)
        self._rates.update((r.object_id, r) for r in shipment.rates)
        return [_rate(r) for r in shipment.rates]

    def validate_address(self, address: Address) -> AddressCheck:
        request = _address_request(address)
        request.validate = True
        answer = self._call("validate address", self._sdk.addresses.create, request)
        results = answer.validation_results
        messages = tuple(_message_text(m) for m in (results.messages if results and results.messages else []))
        valid = bool(results and results.is_valid)
        theirs = {"street1": answer.street1, "city": answer.city, "region": answer.state, "postal_code": answer.zip}
        ours = {"street1": address.street1, "city": address.city, "region": address.state,
                "postal_code": address.postal_code}
        corrected = {k: v for k, v in theirs.items() if v and (ours[k] or "").strip().upper() != v.strip().upper()}
        return AddressCheck(valid=valid, messages=messages, corrected=corrected if valid and corrected else None)

    def buy_label(self, *, rate_id: str, reference: str) -> Label:
        check_reference(reference)
        # Look the rate up first: a failure here is safe, one after the purchase would not be.
        rate = self._rate(rate_id)
        request = components.TransactionCreateRequest(
            rate=rate_id,
            async_=False,  # the SDK defaults to True, which always answers QUEUED
            label_file_type=components.LabelFileTypeEnum.PDF_4X6,
            metadata=reference,
        )
        tx = self._call("buy label", self._sdk.transactions.create, request)
        for _ in range(self._poll_attempts):
            if _status(tx) not in PENDING or not tx.object_id:
                break
            self._sleep(self._poll_interval)
            try:
                tx = self._call("poll label", self._sdk.transactions.get, tx.object_id)
            except TemporaryCarrierError:
                break  # bought but still queued: hand back the id, the caller polls later
        label = self._label(tx, rate)
        log.info("shippo label %s for rate %s: %s", label.label_id, rate_id, label.status)
        return label

    def find_labels(self, *, rate_id: str, reference: str) -> list[Label]:
        request = operations.ListTransactionsRequest(rate=rate_id, results=100)
        page = self._call("list labels", self._sdk.transactions.list, request)
        found = [tx for tx in page.results or []
                 if tx.metadata == reference and LABEL_STATUS.get(_status(tx)) in ("SUCCESS", "QUEUED")]
        found.sort(key=lambda tx: tx.object_created or datetime.min.replace(tzinfo=UTC))  # oldest first
        return [self._label(tx) for tx in found]

    def find_pickup(self, *, reference: str, label_ids: list[str], day: date) -> Pickup | None:
        return None  # Shippo has no way to look a pickup up (see `finds_pickups`)

    def get_label(self, label_id: str) -> Label:
        return self._label(self._call("get label", self._sdk.transactions.get, label_id))

    def refund_label(self, *, label_id: str) -> Refund:
        tx = self._call("get label", self._sdk.transactions.get, label_id)
        already = REFUNDED.get(_status(tx))
        if already is not None:  # asked before (perhaps by a run whose answer was lost)
            return Refund(label_id=label_id, status=already)
        refund = self._call("refund label", self._sdk.refunds.create, label_id, False)
        status = refund.status.value if refund.status else "QUEUED"
        log.info("shippo refund for label %s: %s", label_id, status)
        return Refund(label_id=label_id, status=status)

    def book_pickup(
        self,
        *,
        address: Address,
        label_ids: list[str],
        start: datetime,
        end: datetime,
        reference: str,
    ) -> Pickup:
        if not label_ids:
            raise ValueError("a pickup needs at least one label")
        # The pickup goes to the carrier account the labels were bought on.
        tx = self._call("get label", self._sdk.transactions.get, label_ids[0])
        if isinstance(tx.rate, components.CoreRate) and tx.rate.carrier_account:
            account = tx.rate.carrier_account
        else:
            account = self._rate(_rate_id(tx)).carrier_account
        request = components.PickupBase(
            carrier_account=account,
            location=components.Location(
                address=components.AddressCompleteCreateRequest(
                    name=address.name,
                    street1=address.street1,
                    street2=address.street2,
                    city=address.city,
                    state=address.state or "",
                    zip=address.postal_code,
                    country=address.country,
                    company=address.company,
                    phone=address.phone,
                    email=address.email,
                ),
                building_location_type=components.BuildingLocationType.FRONT_DOOR,
            ),
            requested_start_time=_utc(start),  # Shippo takes pickup windows in UTC
            requested_end_time=_utc(end),
            transactions=list(label_ids),
            metadata=check_reference(reference),
        )
        pickup = self._call("book pickup", self._sdk.pickups.create, request)
        status = pickup.status.value if pickup.status else "PENDING"
        if status == "ERROR":
            texts = list(pickup.messages or [])
            raise PermanentCarrierError("pickup refused: " + "; ".join(texts), messages=texts)
        return Pickup(
            pickup_id=pickup.object_id or "",
            confirmation_code=pickup.confirmation_code,
            status=status,
            start=_parse_time(pickup.confirmed_start_time) or _as_utc(pickup.requested_start_time),
            end=_parse_time(pickup.confirmed_end_time) or _as_utc(pickup.requested_end_time),
        )

    def track(self, *, carrier: str, tracking_number: str) -> Tracking:
        # Note the SDK's argument order: (tracking_number, carrier).
        track = self._call("track", self._sdk.tracking_status.get, tracking_number, carrier)
        events = [_event(s) for s in track.tracking_history]
        events.sort(key=lambda e: e.status_date)
        current = track.tracking_status
        return Tracking(
            carrier=track.carrier,
            tracking_number=track.tracking_number,
            status=current.status.value if current else "UNKNOWN",
            events=events,
            eta=_as_utc(track.eta) if track.eta else None,
        )

    # -- helpers ----------------------------------------------------------------------------

    def _rate(self, rate_id: str) -> components.Rate:
        if rate_id not in self._rates:
            self._rates[rate_id] = self._call("get rate", self._sdk.rates.get, rate_id)
        return self._rates[rate_id]

    def _label(self, tx: components.Transaction, rate: components.Rate | None = None) -> Label:
        status = LABEL_STATUS.get(_status(tx))
        if status is None or status == "ERROR":
            texts = [_message_text(m) for m in tx.messages or []]
            detail = "; ".join(texts) or f"transaction {tx.object_id} is {_status(tx)}"
            raise PermanentCarrierError(f"label failed: {detail}", messages=texts)
        if isinstance(tx.rate, components.CoreRate) and tx.rate.provider:
            provider = tx.rate.provider
        else:
            provider = (rate or self._rate(_rate_id(tx))).provider
        return Label(
            label_id=tx.object_id or "",
            tracking_number=tx.tracking_number or None,
            tracking_url=tx.tracking_url_provider or None,
            label_url=tx.label_url or None,  # empty until SUCCESS
            carrier=carrier_token(provider),
            rate_id=_rate_id(tx),
            status=status,
            live=tx.test is False,
        )

    def _call(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except errors.SDKError as e:
            raise _from_sdk_error(what, e) from e
        except requests.ConnectTimeout as e:  # no connection was made: nothing was asked
            log.warning("shippo %s: could not connect", what)
            raise TemporaryCarrierError(f"{what}: could not connect", maybe_done=False) from e
        except requests.Timeout as e:
            log.warning("shippo %s timed out", what)
            raise TemporaryCarrierError(f"{what}: timed out (it may have been done)") from e
        except requests.RequestException as e:  # refused, reset, dropped midway
            sent = not _never_connected(e)
            log.warning("shippo %s failed: %s", what, type(e).__name__)
            raise TemporaryCarrierError(f"{what}: {type(e).__name__}", maybe_done=sent) from e
        except (KeyError, ValueError, AttributeError, TypeError) as e:
            # The SDK could not decode the answer (missing field, new enum value, wrong shape).
            # The same request will get the same answer, so it is not retryable.
            log.error("shippo %s: unreadable answer: %r", what, e)
            raise PermanentCarrierError(f"{what}: unreadable answer from Shippo: {e!r}") from e


def _from_sdk_error(what: str, e: errors.SDKError) -> CarrierError:
    code = e.status_code
    body = (e.body or "")[:500]
    log.warning("shippo %s failed: HTTP %s", what, code)
    if code == 429 or code == 408 or code >= 500:
        headers = e.raw_response.headers if e.raw_response is not None else {}
        return TemporaryCarrierError(
            f"{what}: HTTP {code}: {body}",
            retry_after=parse_retry_after(headers.get("Retry-After")),  # 429 and 503 send it
            status_code=code,
            # 429, 408 and 503 refuse a request without acting on it (RFC 9110); a 500, 502 or 504
            # may come after the work was done.
            maybe_done=code not in NOT_ACTED_ON,
        )
    # 4xx, or a 2xx/3xx the SDK did not expect: repeating the request will not change it.
    return PermanentCarrierError(f"{what}: HTTP {code} {e.message}: {body}", status_code=code)


NOT_ACTED_ON = frozenset({408, 429, 503})


def _never_connected(e: requests.RequestException) -> bool:
    """A connection refused or never made (nothing was sent), as opposed to one dropped midway."""
    reason = getattr(e.args[0], "reason", None) if e.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _status(tx: components.Transaction) -> str:
    return tx.status.value if tx.status else ""


def _rate_id(tx: components.Transaction) -> str:
    if isinstance(tx.rate, components.CoreRate):
        return tx.rate.object_id or ""
    return tx.rate or ""


def _message_text(m: components.ResponseMessage) -> str:
    return ": ".join(p for p in (m.source, m.text or m.code) if p)


def _address_request(addr: Address) -> components.AddressCreateRequest:
    return components.AddressCreateRequest(
        country=addr.country,
        name=addr.name,
        company=addr.company,
        street1=addr.street1,
        street2=addr.street2,
        city=addr.city,
        state=addr.state,
        zip=addr.postal_code,
        phone=addr.phone,
        email=addr.email,
    )


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")  # never "1E+1"


def _customs_request(customs: Customs) -> components.CustomsDeclarationCreateRequest:
    """The declaration inline with the shipment (Shippo creates it with the shipment)."""
    return components.CustomsDeclarationCreateRequest(
        certify=True,
        certify_signer=customs.certify_signer,
        contents_type=components.CustomsDeclarationContentsTypeEnum(customs.contents_type),
        non_delivery_option=components.CustomsDeclarationNonDeliveryOptionEnum(customs.non_delivery_option),
        incoterm=components.CustomsDeclarationIncotermEnum(customs.incoterm),
        eel_pfc=components.CustomsDeclarationEelPfcEnum(customs.eel_pfc) if customs.eel_pfc else None,
        items=[components.CustomsItemCreateRequest(
            description=item.description, quantity=item.quantity, net_weight=_decimal_text(item.net_weight_kg),
            mass_unit=components.WeightUnitEnum.KG, value_amount=_decimal_text(item.value),
            value_currency=item.currency, origin_country=item.origin_country, tariff_number=item.hs_code,
            hs_code=item.hs_code,
        ) for item in customs.items],
    )


def _parcel_request(parcel: Parcel) -> components.ParcelCreateRequest:
    return components.ParcelCreateRequest(
        length=_decimal_text(parcel.length_cm),
        width=_decimal_text(parcel.width_cm),
        height=_decimal_text(parcel.height_cm),
        distance_unit=components.DistanceUnitEnum.CM,
        weight=_decimal_text(parcel.weight_kg),
        mass_unit=components.WeightUnitEnum.KG,
    )


def _rate(r: components.Rate) -> Rate:
    return Rate(
        rate_id=r.object_id,
        carrier=carrier_token(r.provider),
        service_level=r.servicelevel.token or "",
        service_name=r.servicelevel.name or "",
        amount=Decimal(r.amount),
        currency=r.currency,
        estimated_days=r.estimated_days,
    )


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("carrier times must be timezone-aware")
    return value.astimezone(UTC)


def _as_utc(value: datetime) -> datetime:
    """A time read from Shippo; one without an offset is UTC."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return _as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _event(s: components.TrackingStatus) -> TrackingEvent:
    place = s.location
    location = None
    if place is not None:
        location = ", ".join(p for p in (place.city, place.state, place.zip, place.country) if p)
    return TrackingEvent(
        status=s.status.value,
        status_details=s.status_details,
        status_date=_as_utc(s.status_date or s.object_created),
        substatus=s.substatus.code if s.substatus else None,
        location=location or None,
        action_required=bool(s.substatus and s.substatus.action_required),
    )
