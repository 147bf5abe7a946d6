"""The worker's tracking page, /t/{token}: no login, and nothing about the worker beyond what they
need (the given name they were asked by, and the city; no address, phone, email or serial numbers).
Each status has its own headline and next step, times are the worker's local time, and after the
delivery the page asks whether everything works (a form that only this page can post)."""

import hashlib
import hmac
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from app.api.deps import SessionDep
from app.care import followup
from app.care import repository as care
from app.errors import Conflict
from app.models import SwapRequest
from app.notify.content import device_name
from app.shipping import repository as shipping
from app.shipping.couriers import courier_name
from app.shipping.simulated import render_label_svg
from app.swaps import repository, tracking_link
from app.swaps.states import SwapStatus
from app.warehouse import repository as warehouse

router = APIRouter(include_in_schema=True, tags=["tracking"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
PRIVATE = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow", "Cache-Control": "no-store"}
FORM_PURPOSE = "follow-up-form"

HEADLINES = {
    SwapStatus.RECEIVED: "We have your request",
    SwapStatus.ALLOCATED: "A replacement is reserved for you",
    SwapStatus.BACKORDERED: "You are on the list for the next available device",
    SwapStatus.LABEL_BOOKED: "Your replacement is booked with the courier",
    SwapStatus.SHIPPED: "Your replacement is on its way",
    SwapStatus.DELIVERED: "Delivered: your replacement is with you",
    SwapStatus.RETURN_IN_TRANSIT: "Your old device is on its way back",
    SwapStatus.RETURNED: "All done: your old device is back with us",
    SwapStatus.CLOSED: "All done",
    SwapStatus.CANCELLED: "This request was cancelled",
    SwapStatus.EXCEPTION: "Something needs our attention; support is on it",
}
WORKER_EVENTS = {s.value for s in SwapStatus} | {"return_fallback", "return_reminder", "courier_attention",
                                                 "out_for_delivery", "followup_answered", "return_due_moved"}
# Events whose timeline message is written for support (it names API keys, reasons or carrier errors)
# are told to the worker in these words instead.
WORKER_WORDS = {
    SwapStatus.RECEIVED.value: "We received your request.",
    SwapStatus.CANCELLED.value: "This request was cancelled. Your IT support team can tell you why.",
    SwapStatus.EXCEPTION.value: HEADLINES[SwapStatus.EXCEPTION] + ".",
    SwapStatus.CLOSED.value: "This request is complete.",
    "return_fallback": "The courier cannot collect your old device at the door: a prepaid return label is in "
                       "the box instead.",
    "followup_answered": "Thank you for telling us how the replacement works.",
    "return_due_moved": "You have more time to send your old device back.",
}
BEFORE_DELIVERY = {
    "swap_at_door": "Before the courier arrives: back up your files, sign out of your accounts and pack your old "
                    "device with its charger. The courier takes it when delivering the new one.",
    "return_box": "When the new device works, put your old device and its charger in the same box, stick the "
                  "prepaid return label on it and hand it to the courier or a drop-off point.",
    "no_return": "Nothing needs to come back.",
}
NOBODY_HOME = ("If nobody is home, the courier leaves a note and tries again the next working day; the courier's "
               "page lets you rearrange or pick a collection point.")
SET_UP = ("Switch it on, connect to your network and sign in with your work account: it is set up for you, and "
          "your apps and settings follow.")


class TrackingView(BaseModel):
    first_name: str | None  # the given name the request gave (never guessed from the full name)
    city: str
    status: SwapStatus
    headline: str
    next_step: str
    device: str | None
    in_the_box: list[str]
    ships_on: date | None
    arrives_by: date | None
    eta: str | None  # the courier's estimate, local time
    courier: str | None
    tracking_url: str | None  # the courier's own page
    nobody_home: str | None
    return_plan: str
    return_instructions: str
    return_due: date | None
    return_received_at: str | None
    return_tracking_url: str | None
    return_label_url: str | None
    waitlist_position: int | None
    ask_working: bool  # delivered and not yet answered
    answer: str | None  # what the worker said: works / does not work
    support_contact: str
    timeline: list[dict]


def _local(at: datetime | None, zone: ZoneInfo) -> str | None:
    return at.astimezone(zone).strftime("%a %d %b, %H:%M") if at else None


def _next_step(swap: SwapRequest, plan: str, expected, position: int | None, courier: str | None) -> str:
    status = SwapStatus(swap.status)
    if status == SwapStatus.BACKORDERED:
        return (f"You are number {position} in line for the next one. We write every day with where you stand, "
                "and at once when a device is reserved for you.")
    if status in (SwapStatus.RECEIVED, SwapStatus.ALLOCATED):
        return "We are booking the courier. " + BEFORE_DELIVERY[plan]
    if status == SwapStatus.LABEL_BOOKED:
        return f"Booked with {courier or 'the courier'}. " + BEFORE_DELIVERY[plan]
    if status == SwapStatus.SHIPPED:
        return BEFORE_DELIVERY[plan]
    if status == SwapStatus.DELIVERED:
        if plan == "swap_at_door":
            return SET_UP + " The courier took your old device: nothing more to do."
        if plan == "return_box" and expected is not None:
            return (SET_UP + f" Then send the old one back by {expected.due_date:%A %d %B} with the prepaid label "
                    "in the box: your old device and its charger in the same box, handed to the courier or a "
                    "drop-off point.")
        return SET_UP
    if status == SwapStatus.RETURN_IN_TRANSIT:
        return "Your old device is with the courier on its way to us. Nothing more to do."
    if status in (SwapStatus.RETURNED, SwapStatus.CLOSED):
        return "Nothing more to do. Thank you!"
    if status == SwapStatus.CANCELLED:
        return "Nothing more to do. Your IT support team can tell you why it was cancelled."
    return "Support is on it and will tell you the new date."


def _view(session, swap: SwapRequest, support_contact: str) -> TrackingView:
    zone = ZoneInfo(swap.worker_timezone)
    ships = {s.direction: s for s in repository.shipments(session, swap.id)}
    out, ret = ships.get("outbound"), ships.get("return")
    plan = swap.return_plan or swap.return_mode
    expected = warehouse.return_of_swap(session, swap.id)
    status = SwapStatus(swap.status)
    position = repository.waitlist_position(session, swap) if status == SwapStatus.BACKORDERED else None
    courier = courier_name(out.carrier) if out else None
    answered = care.follow_up_of(session, swap.id)
    answer = None
    if answered is not None and answered.answer:
        answer = "works" if answered.outcome == "working" else "does not work"
        answer += f" (you gave it {answered.score} out of 5)" if answered.score else ""
    return TrackingView(
        first_name=swap.given_name, city=swap.city, status=status, headline=HEADLINES[status],
        next_step=_next_step(swap, plan, expected, position, courier),
        device=device_name(swap) if (swap.unit or swap.model) else None,
        in_the_box=["the device", *((swap.unit.box_contents or []) if swap.unit else [])],
        ships_on=swap.ship_date, arrives_by=swap.promised_date,
        eta=_local(out.eta, zone) if out and status in (SwapStatus.LABEL_BOOKED, SwapStatus.SHIPPED) else None,
        courier=courier, tracking_url=out.tracking_url if out else None,
        nobody_home=NOBODY_HOME if status in (SwapStatus.LABEL_BOOKED, SwapStatus.SHIPPED) else None,
        return_plan=plan, return_instructions=BEFORE_DELIVERY[plan],
        return_due=expected.due_date if expected and plan == "return_box" else None,
        return_received_at=_local(expected.received_at, zone) if expected else None,
        return_tracking_url=ret.tracking_url if ret else None,
        return_label_url=ret.label_url if ret and plan == "return_box" else None,
        waitlist_position=position,
        ask_working=status in followup.ANSWERABLE and status != SwapStatus.EXCEPTION and answer is None,
        answer=answer, support_contact=support_contact,
        timeline=[{"at": _local(e.at, zone), "what": WORKER_WORDS.get(e.kind, e.message)}
                  for e in repository.timeline(session, swap.id) if e.kind in WORKER_EVENTS],
    )


def _not_found() -> Response:
    # No problem document here: it would echo the path (the token) back; say nothing at all.
    return Response("Not found", status_code=404, media_type="text/plain", headers=PRIVATE)


def _form_token(request: Request, session, swap: SwapRequest, token: str) -> str:
    """Ties the follow-up form to this page: a page elsewhere cannot make it up."""
    key = request.app.state.keyring.key(FORM_PURPOSE, session)
    return hmac.new(key, f"{swap.id}:{token}".encode(), hashlib.sha256).hexdigest()[:32]


@router.get("/t/{token}.json", response_model=TrackingView, responses={404: {"description": "Unknown link"}})
def tracking_json(token: str, request: Request, session: SessionDep):
    swap = tracking_link.find(session, token)
    if swap is None:
        return _not_found()
    view = _view(session, swap, request.app.state.settings.support_contact)
    return Response(view.model_dump_json(), media_type="application/json", headers=PRIVATE)


@router.get("/t/{token}", response_class=HTMLResponse, responses={404: {"description": "Unknown link"}})
def tracking_page(token: str, request: Request, session: SessionDep):
    """Mobile-friendly status page for the worker; `Accept: application/json` gets the same as JSON."""
    swap = tracking_link.find(session, token)
    if swap is None:
        return _not_found()
    view = _view(session, swap, request.app.state.settings.support_contact)
    if "application/json" in request.headers.get("accept", ""):
        return Response(view.model_dump_json(), media_type="application/json", headers=PRIVATE)
    return templates.TemplateResponse(request, "tracking.html", {"v": view, "base": f"/t/{token}"}, headers=PRIVATE)


@router.get("/t/{token}/followup", response_class=HTMLResponse, responses={404: {"description": "Unknown link"}})
def follow_up_form(token: str, request: Request, session: SessionDep, answer: str = "yes"):
    """The page the message's yes/no links open: it asks for a score and a comment; nothing is recorded
    until the worker sends it (mail scanners open links too)."""
    swap = tracking_link.find(session, token)
    if swap is None:
        return _not_found()
    answer = "no" if answer == "no" else "yes"
    context = {"answer": answer, "form_token": _form_token(request, session, swap, token), "base": f"/t/{token}",
               "name": swap.given_name, "device": device_name(swap)}
    return templates.TemplateResponse(request, "followup.html", context, headers=PRIVATE)


class FollowUpForm(BaseModel):
    answer: Literal["yes", "no"]
    form_token: Annotated[str, StringConstraints(max_length=64)]
    score: Annotated[int, Field(ge=1, le=5)] | None = None
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


async def _form(request: Request) -> dict:
    return dict(await request.form())


_FORM_BODY = {"required": True, "content": {"application/x-www-form-urlencoded": {
    "schema": FollowUpForm.model_json_schema()}}}


@router.post("/t/{token}/followup", response_class=HTMLResponse, status_code=303, openapi_extra={"requestBody": _FORM_BODY},
             responses={404: {"description": "Unknown link"}, 403: {"description": "Not sent from this page"},
                        409: {"description": "Nothing to answer yet"}, 422: {"description": "Invalid form"}})
def follow_up_answer(token: str, request: Request, session: SessionDep, form: Annotated[dict, Depends(_form)]):
    """The worker's answer. The link is checked before the form; the form must carry this page's token
    (and not come from another site)."""
    swap = tracking_link.find(session, token)
    if swap is None:
        return _not_found()
    if request.headers.get("sec-fetch-site") == "cross-site":
        return _forbidden()
    try:
        data = FollowUpForm.model_validate({k: v for k, v in form.items() if v != ""})
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        return Response(f"Please check: {fields}.", status_code=422, media_type="text/plain", headers=PRIVATE)
    if not hmac.compare_digest(data.form_token, _form_token(request, session, swap, token)):
        return _forbidden()
    try:
        followup.answer(session, swap, answer=data.answer, score=data.score, comment=data.comment or None)
    except Conflict as exc:
        return Response(exc.detail, status_code=409, media_type="text/plain", headers=PRIVATE)
    return RedirectResponse(f"/t/{token}", status_code=303, headers=PRIVATE)


def _forbidden() -> Response:
    return Response("This form must be sent from your tracking page.", status_code=403, media_type="text/plain",
                    headers=PRIVATE)


@router.get("/labels/sim/{label_id}.svg", response_class=Response, responses={404: {"description": "Unknown"}})
def simulated_label(label_id: str, session: SessionDep):
    """The simulated carrier's printable label (the embedded default has no real carrier)."""
    row = shipping.shipment_by_label(session, label_id)
    if row is None or row.provider != "simulated":
        raise HTTPException(404, "Not found")
    swap = repository.get_swap(session, row.swap_id)
    origin, dest = (swap.depot.city, swap.city) if row.direction == "outbound" else (swap.city, swap.depot.city)
    return Response(render_label_svg(label_id, row.tracking_number or "", origin, dest), media_type="image/svg+xml")


@router.get("/sim/track/{tracking_number}", response_class=HTMLResponse, responses={404: {"description": "Unknown"}})
def simulated_carrier_tracking(tracking_number: str, request: Request):
    """The simulated carrier's own tracking page (what a real carrier's site would show)."""
    carrier = request.app.state.carrier
    if carrier.name != "simulated":
        raise HTTPException(404, "Not found")
    t = carrier.track(carrier="simulated", tracking_number=tracking_number)
    if t.status == "UNKNOWN":
        raise HTTPException(404, "Not found")
    return templates.TemplateResponse(request, "sim_track.html", {"t": t, "courier": courier_name("simulated")},
                                      headers={"X-Robots-Tag": "noindex"})
