"""ASGI entry point for `uvicorn app.asgi:app` (settings from the environment)."""

from app.collector import collect_less
from app.main import create_app

app = create_app()
collect_less()
