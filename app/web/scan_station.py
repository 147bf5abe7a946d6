"""The warehouse scan station, /scan: one page for the bench PC or a phone with a keyboard-wedge
scanner. The page itself is public and holds no data; its script calls the API with a warehouse
key that the tech types once and that stays in the tab's sessionStorage (never in a URL or a
cookie). Everything it shows comes from POST /api/v1/scans and the return inspection."""

import secrets
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _headers(nonce: str) -> dict[str, str]:
    # Only this response's inline style and script run, and they may only talk to this origin: the
    # key in sessionStorage is not readable by anything injected or loaded from elsewhere.
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
           "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return {"Cache-Control": "no-store", "Content-Security-Policy": csp, "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex, nofollow", "X-Content-Type-Options": "nosniff"}


@router.get("/scan", response_class=HTMLResponse)
def scan_station(request: Request):
    """The scan station page (HTML; the API key is entered in the page, not needed to load it)."""
    nonce = secrets.token_urlsafe(16)
    return templates.TemplateResponse(request, "scan.html", {"nonce": nonce}, headers=_headers(nonce))
