"""What a message says: the facts its templates are given, read from the swap as it is now and from
what was true when the message was queued (`Notification.data`)."""

from datetime import date, datetime

from sqlalchemy.orm import Session

from app.models import Notification, SwapRequest
from app.notify.config import NotifyConfig
from app.shipping.couriers import courier_name
from app.shipping.states import Direction
from app.swaps import repository as swaps
from app.warehouse import repository as warehouse


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def device_name(swap: SwapRequest) -> str:
    if swap.unit is not None:
        return swap.unit.model.name
    if swap.model is not None:
        return swap.model.name
    return swap.category or "device"


def context(session: Session, swap: SwapRequest, note: Notification, config: NotifyConfig,
            token: str | None) -> dict:
    data = note.data or {}
    ships = {s.direction: s for s in swaps.shipments(session, swap.id)}
    outbound = ships.get(Direction.OUTBOUND)
    expected = warehouse.return_of_swap(session, swap.id)
    link = f"{config.public_base_url}/t/{token}" if token else None
    position = data.get("position")
    if position is None and swap.status == "backordered":
        position = swaps.waitlist_position(session, swap)
    return {
        "lang": (swap.language or "en").split("_")[0],
        "name": swap.given_name,
        "worker_name": swap.worker_name,
        "ticket": f"{swap.ticket_system}/{swap.ticket_id}",
        "swap_id": swap.id,
        "status": swap.status.replace("_", " "),
        "priority": swap.priority,
        "device": device_name(swap),
        "depot_city": swap.depot.city if swap.depot else "",
        "ships": swap.ship_date,
        "arrives": swap.promised_date,
        "outcome": data.get("outcome"),
        "position": position,
        "expected": _date(data.get("expected")),
        "courier": courier_name(outbound.carrier if outbound else None) or "the courier",
        "courier_tracking_url": outbound.tracking_url if outbound else None,
        "box": ["the device", *((swap.unit.box_contents or []) if swap.unit else [])],
        "return_plan": swap.return_plan or swap.return_mode,
        "return_due": _date(data.get("due_date")) or (expected.due_date if expected else None),
        "overdue": bool(data.get("overdue")),
        "code": (expected.received_code or expected.code) if expected else None,
        "received_at": (expected.received_at if expected else None) or _datetime(data.get("received_at")),
        "message": data.get("message", ""),
        "headline": data.get("headline", ""),
        "support": config.support_contact,
        "link": link,
        "yes_link": f"{link}/followup?answer=yes" if link else None,
        "no_link": f"{link}/followup?answer=no" if link else None,
        "api_link": f"{config.public_base_url}/api/v1/swap-requests/{swap.id}",
    }


def service_context(note: Notification, config: NotifyConfig) -> dict:
    """What a message about the service itself says (no swap behind it)."""
    data = note.data or {}
    return {"lang": "en", "message": data.get("message", ""), "headline": data.get("headline", ""),
            "support": config.support_contact, "api_link": f"{config.public_base_url}/api/v1/webhook-endpoints"}
