"""The service as a separate process or worker would build it: its own engine, sessions carrying
the dispatcher (see app.bootstrap)."""

from sqlalchemy import select

from app.bootstrap import bootstrap
from app.models import OutboxJob
from app.settings import Settings

# The jobs swaps cause (the periodic sweeps share the table, and come and go on their own).
SWAP_JOB_KINDS = ("book_swap", "void_labels", "void_extra_labels")


def worker_factory(settings: Settings, **engine_options):
    """A session factory of its own, like another worker process's. Dispose of `.kw["bind"]` after."""
    from app.db import make_engine

    return bootstrap(settings, engine=make_engine(settings.database_url, **engine_options)).session_factory


def swap_jobs():
    """A select of the jobs swaps caused."""
    return select(OutboxJob).where(OutboxJob.kind.in_(SWAP_JOB_KINDS))
