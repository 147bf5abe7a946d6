"""The service as a test builds it: settings, a separate worker's sessions, an app on demo data."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select

from app.auth.keys import create_api_key
from app.bootstrap import bootstrap
from app.db import make_engine, unit_of_work
from app.demo import seed_demo
from app.main import create_app
from app.models import OutboxJob
from app.settings import Settings
from tests.support import databases
from tests.support.factories import WEBHOOK_SECRET

# What every test app runs with: the simulated carrier, no background threads, known webhook secrets,
# webhook receivers on 127.0.0.1 allowed.
BASE_SETTINGS = {"shippo_api_key": "", "run_background_jobs": False,
                 "shippo_webhook_secrets": WEBHOOK_SECRET + ",old-secret-being-rotated-out-0000",
                 "webhook_allowed_hosts": "127.0.0.1"}

# The jobs swaps cause (the periodic sweeps share the table, and come and go on their own).
SWAP_JOB_KINDS = ("book_swap", "void_labels", "void_extra_labels")


def worker_factory(settings: Settings, **engine_options):
    """A session factory of its own, like another worker process's. Dispose of `.kw["bind"]` after."""
    return bootstrap(settings, engine=make_engine(settings.database_url, **engine_options)).session_factory


def swap_jobs():
    """A select of the jobs swaps caused."""
    return select(OutboxJob).where(OutboxJob.kind.in_(SWAP_JOB_KINDS))


@contextmanager
def app_on_demo_data(template_url: str, folder: Path) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """An app on a database of its own holding the demo data, and an admin's headers (for tests that
    share one seeded database across many requests, like the fuzzers)."""
    with databases.clone(template_url, folder) as url:
        app = create_app(Settings(database_url=url, **BASE_SETTINGS))
        try:
            with unit_of_work(app.state.session_factory) as session:
                seed_demo(session)
                _, plain = create_api_key(session, name="fuzz-admin", roles=["admin"])
            yield app, {"Authorization": f"Bearer {plain}"}
        finally:
            app.state.engine.dispose()
