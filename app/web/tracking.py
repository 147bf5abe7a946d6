"""The worker's tracking page, /t/{token}: no login, no personal data beyond what the worker needs
(first name and city; no address, phone, email or serial numbers)."""

from datetime import date
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from app.api.deps import SessionDep
from app.shipping import repository as shipping
from app.shipping.simulated import render_label_svg
from app.swaps import repository, tracking_link
from app.swaps.states import SwapStatus

router = APIRouter(include_in_schema=True, tags=["tracking"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
PRIVATE = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow", "Cache-Control": "no-store"}

HEADLINES = {
    SwapStatus.RECEIVED: "We have your request",
    SwapStatus.ALLOCATED: "A replacement is reserved for you",
    SwapStatus.BACKORDERED: "You are on the list for the next available device",
    SwapStatus.LABEL_BOOKED: "Your replacement is booked with the courier",
    SwapStatus.SHIPPED: "Your replacement is on its way",
    SwapStatus.DELIVERED: "Delivered",
    SwapStatus.RETURN_IN_TRANSIT: "Your old device is on its way back",
    SwapStatus.RETURNED: "All done: your old device is back with us",
    SwapStatus.CLOSED: "All done",
    SwapStatus.CANCELLED: "This request was cancelled",
    SwapStatus.EXCEPTION: "Something needs our attention; support is on it",
}
WORKER_EVENTS = {s.value for s in SwapStatus} | {"return_fallback", "return_reminder", "courier_attention",
                                                 "out_for_delivery"}
# Events whose timeline message is written for support (it names API keys, reasons or carrier errors)
# are told to the worker in these words instead.
WORKER_WORDS = {
    SwapStatus.RECEIVED.value: "We received your request.",
    SwapStatus.CANCELLED.value: "This request was cancelled. Your IT support team can tell you why.",
    SwapStatus.EXCEPTION.value: HEADLINES[SwapStatus.EXCEPTION] + ".",
    SwapStatus.CLOSED.value: "Your old device was checked in. This request is complete.",
    "return_fallback": "The courier cannot collect your old device at the door: a prepaid return label is in "
                       "the box instead.",
}
INSTRUCTIONS = {
    "swap_at_door": "Before the courier arrives: back up your files, sign out of your accounts and pack your old "
                    "device with its charger. The courier takes it when delivering the new one.",
    "return_box": "When the new device works, put your old device and its charger in the same box, stick the "
                  "prepaid return label on it and hand it to the courier or a drop-off point.",
    "no_return": "Nothing needs to come back.",
}


class TrackingView(BaseModel):
    first_name: str
    city: str
    status: SwapStatus
    headline: str
    device: str | None
    ships_on: date | None
    arrives_by: date | None
    tracking_url: str | None
    return_plan: str
    return_instructions: str
    return_tracking_url: str | None
    return_label_url: str | None
    timeline: list[dict]


def _not_found() -> Response:
    # No problem document here: it would echo the path (the token) back; say nothing at all.
    return Response("Not found", status_code=404, media_type="text/plain", headers=PRIVATE)


def _view(session, token: str) -> TrackingView | None:
    swap = tracking_link.find(session, token)
    if swap is None:
        return None
    ships = {s.direction: s for s in repository.shipments(session, swap.id)}
    out, ret = ships.get("outbound"), ships.get("return")
    plan = swap.return_plan or swap.return_mode
    return TrackingView(
        first_name=swap.worker_name.split()[0], city=swap.city, status=SwapStatus(swap.status),
        headline=HEADLINES[SwapStatus(swap.status)],
        device=swap.unit.model.name if swap.unit else (swap.model.name if swap.model else None),
        ships_on=swap.ship_date, arrives_by=swap.promised_date,
        tracking_url=out.tracking_url if out else None, return_plan=plan, return_instructions=INSTRUCTIONS[plan],
        return_tracking_url=ret.tracking_url if ret else None,
        return_label_url=ret.label_url if ret and plan == "return_box" else None,
        timeline=[{"at": e.at.isoformat(), "what": WORKER_WORDS.get(e.kind, e.message)}
                  for e in repository.timeline(session, swap.id) if e.kind in WORKER_EVENTS],
    )


@router.get("/t/{token}.json", response_model=TrackingView, responses={404: {"description": "Unknown link"}})
def tracking_json(token: str, session: SessionDep):
    view = _view(session, token)
    if view is None:
        return _not_found()
    return Response(view.model_dump_json(), media_type="application/json", headers=PRIVATE)


@router.get("/t/{token}", response_class=HTMLResponse, responses={404: {"description": "Unknown link"}})
def tracking_page(token: str, request: Request, session: SessionDep):
    """Mobile-friendly status page for the worker; `Accept: application/json` gets the same as JSON."""
    view = _view(session, token)
    if view is None:
        return _not_found()
    if "application/json" in request.headers.get("accept", ""):
        return Response(view.model_dump_json(), media_type="application/json", headers=PRIVATE)
    return templates.TemplateResponse(request, "tracking.html", {"v": view}, headers=PRIVATE)


@router.get("/labels/sim/{label_id}.svg", response_class=Response, responses={404: {"description": "Unknown"}})
def simulated_label(label_id: str, session: SessionDep):
    """The simulated carrier's printable label (the embedded default has no real carrier)."""
    row = shipping.shipment_by_label(session, label_id)
    if row is None or row.provider != "simulated":
        raise HTTPException(404, "Not found")
    swap = repository.get_swap(session, row.swap_id)
    origin, dest = (swap.depot.city, swap.city) if row.direction == "outbound" else (swap.city, swap.depot.city)
    return Response(render_label_svg(label_id, row.tracking_number or "", origin, dest), media_type="image/svg+xml")


@router.get("/sim/track/{tracking_number}", responses={404: {"description": "Unknown"}})
def simulated_carrier_tracking(tracking_number: str, request: Request) -> dict:
    """The simulated carrier's own tracking page (what a real carrier's site would show)."""
    carrier = request.app.state.carrier
    if carrier.name != "simulated":
        raise HTTPException(404, "Not found")
    t = carrier.track(carrier="simulated", tracking_number=tracking_number)
    if t.status == "UNKNOWN":
        raise HTTPException(404, "Not found")
    return {"tracking_number": t.tracking_number, "status": t.status, "eta": t.eta,
            "events": [{"status": e.status, "details": e.status_details, "at": e.status_date} for e in t.events]}
