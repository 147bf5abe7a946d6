"""Test database per run: a migrated SQLite template copied per test, or (TEST_DATABASE_URL set)
a throwaway PostgreSQL database created for the run and truncated before each test."""

import os
import shutil
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import clock, migrations
from app.auth.keys import create_api_key
from app.db import make_engine, unit_of_work
from app.main import create_app
from app.models import Base
from app.settings import Settings

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = bool(PG_ADMIN_URL)
WEBHOOK_SECRET = "whsec-test-6f1d2a9c4b7e8f30a1b2c3d4e5f60718"


def _psycopg_dsn(url: str) -> str:
    u = make_url(url)
    return f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username or 'postgres'} dbname={u.database or 'postgres'}"


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    if ON_POSTGRES:
        name = f"spares_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = _psycopg_dsn(PG_ADMIN_URL)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
        url_text = url.render_as_string(hide_password=False)
        migrations.upgrade(url_text)
        yield url_text
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path_factory.mktemp("db") / "template.db"
        migrations.upgrade(f"sqlite:///{path}")
        yield str(path)


@pytest.fixture
def database_url(database_template, tmp_path):
    if ON_POSTGRES:
        engine = make_engine(database_template, pool_size=1, max_overflow=0)
        # The service secret is written by the migrations, like alembic_version: kept.
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "service_secrets")
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return database_template
    path = tmp_path / "test.db"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, shippo_api_key="", run_background_jobs=False,
                    shippo_webhook_secrets=WEBHOOK_SECRET + ",old-secret-being-rotated-out-0000")


@pytest.fixture
def app(settings):
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def session_factory(app):
    return app.state.session_factory


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def keys(session_factory) -> dict[str, dict[str, str]]:
    """Authorization headers for one key per role."""
    headers = {}
    with unit_of_work(session_factory) as session:
        for role in ("admin", "support", "warehouse", "integration"):
            _, plain = create_api_key(session, name=f"test-{role}", roles=[role])
            headers[role] = {"Authorization": f"Bearer {plain}"}
    return headers


class FrozenClock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**delta)


@pytest.fixture
def frozen_clock():
    fc = FrozenClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # a Tuesday morning
    clock.set_clock(fc)
    yield fc
    clock.set_clock(None)


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip)


@pytest.fixture
def live_server(app):
    """The app served by a real uvicorn on 127.0.0.1 in a thread, for concurrent clients."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                          limit_concurrency=500))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
