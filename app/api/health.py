from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.migrations import current_and_head

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database unreachable or not migrated"}})
def readyz(request: Request):
    """The database answers and its schema is at the newest migration."""
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
            current, head = current_and_head(session.connection())
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    if current != head:
        return JSONResponse({"status": "unavailable", "migration": current, "head": head}, status_code=503)
    return {"status": "ok", "migration": current}
