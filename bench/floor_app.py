"""The floor under intake: the service as served (its middleware and its API-key check) with one more
route, which takes the intake's body, validates it as a swap request and answers 201 with a small
body, touching no table. What the web stack alone costs an intake: the rest is the domain's work
and its statements."""

from app.api.deps import Support
from app.asgi import app
from app.swaps.schemas import SwapCreate

PATH = "/api/v1/bench-floor"  # under /api/: authenticated by the guard, like intake


@app.post(PATH, status_code=201)
def floor(body: SwapCreate, key: Support) -> dict:
    return {"ticket": body.ticket.id, "by": key.name}
