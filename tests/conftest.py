"""The suite's databases and apps.

One migrated template database per run (per xdist worker); one copy of it, one engine and one app
serve the tests. Each test runs inside a transaction on one connection that is rolled back at the
end, and the app's sessions join it as savepoints (their commits release a savepoint), so a test
sees only its own records and leaves nothing behind.

A test that needs real commits — a live server, threads or processes with connections of their
own, commit failures — is marked `live_db` (or asks for `database_url` or `live_server`): it gets a
fresh copy of the template, committed to for real. The worker's live tests share the copy's name and
one app over it (its caches of what a test left are emptied between tests).

On PostgreSQL (TEST_DATABASE_URL set) tests that touch no database, or are marked `any_database`, are
not run again: they ran in the SQLite half."""

import dataclasses
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app import clock
from app.auth.keys import KeyCache, create_api_key
from app.bootstrap import bootstrap
from app.collector import collect_less
from app.db import make_engine, unit_of_work
from app.main import create_app
from app.reference import REFERENCE
from app.settings import Settings
from app.shipping.carriers import make_carrier
from tests.support import databases
from tests.support.asgi_client import AppClient
from tests.support.clock import FrozenClock
from tests.support.databases import ON_POSTGRES
from tests.support.service import BASE_SETTINGS

# Asking for one of these makes a test live: it gets a database and an app of its own.
LIVE_FIXTURES = {"database_url", "live_server"}
# Fixtures through which a test touches the database (the others run once, on SQLite).
DATABASE_FIXTURES = LIVE_FIXTURES | {"database_template", "db_connection", "settings", "app", "client",
                                     "session_factory", "keys", "make_app", "empty_database_url", "database_kind",
                                     "module_service"}


def pytest_configure(config):
    collect_less()  # as a service process does (see app.collector): about 8% less CPU for the suite
    config.addinivalue_line("markers", "live_db: the test needs real commits on a database of its own")
    config.addinivalue_line("markers", "any_database: what the test proves does not depend on the database "
                                       "kind (it runs in the SQLite half only)")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip)
    if ON_POSTGRES:  # what touches no database ran in the SQLite half already
        keep = [i for i in items if DATABASE_FIXTURES & set(getattr(i, "fixturenames", ()))
                and "any_database" not in i.keywords]
        dropped = [i for i in items if i not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep


def _is_live(request) -> bool:
    return request.node.get_closest_marker("live_db") is not None or bool(LIVE_FIXTURES & set(request.fixturenames))


# ---- databases ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    url = databases.migrated_template(tmp_path_factory.mktemp("db"))
    yield url
    databases.drop(url)


@pytest.fixture(scope="session")
def _shared(database_template, tmp_path_factory):
    """The database, engine and app most tests share (each in a transaction of its own)."""
    url = databases.copy_of(database_template, tmp_path_factory.mktemp("shared"))
    settings = Settings(database_url=url, **BASE_SETTINGS)
    engine = make_engine(url, pool_size=2, pool_overflow=2) if ON_POSTGRES else make_engine(url)
    service = bootstrap(settings, engine=engine)
    app = create_app(settings, service=service)
    with AppClient(app) as client:
        yield settings, service, app, client
    engine.dispose()
    databases.drop(url)


@pytest.fixture(scope="session")
def _live(database_template, tmp_path_factory):
    """What live tests share: the name their database goes by (made afresh for each test) and one app
    over it, built on first use. A new app costs its first requests ~0.4 s of CPU (FastAPI builds each
    route's handling on its first call, and a new engine compiles each statement again)."""
    url = databases.live_url(tmp_path_factory.mktemp("live"))
    live = SimpleNamespace(template=database_template, url=url, settings=Settings(database_url=url, **BASE_SETTINGS),
                           app=None, service=None)
    yield live
    if live.app is not None:
        live.app.state.engine.dispose()
    databases.drop(url)


@pytest.fixture
def database_url(_live):
    """A database of this test's own, committed to for real: a fresh copy of the migrated template."""
    databases.refresh(_live.template, _live.url)
    return _live.url


@pytest.fixture
def db_connection(_shared):
    """The one connection of a shared-database test, in a transaction rolled back at the end."""
    _, service, _, _ = _shared
    # The last test's depots and models were rolled back, not committed: forget what it cached.
    service.session_factory.kw["info"][REFERENCE].clear()
    conn = service.engine.connect()
    outer = conn.begin()
    databases.restart_ids(conn)
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with no tables at all, of the kind under test."""
    with databases.empty_database(tmp_path) as url:
        yield url


@pytest.fixture
def database_kind() -> str:
    return "postgresql" if ON_POSTGRES else "sqlite"


def _join(factory, conn) -> None:
    """Sessions of `factory` join the test's transaction: their commits only release a savepoint."""
    factory.configure(bind=conn, join_transaction_mode="create_savepoint")


# ---- settings and apps --------------------------------------------------------------------------


@pytest.fixture
def settings(request, _shared) -> Settings:
    if _is_live(request):
        request.getfixturevalue("database_url")
        return request.getfixturevalue("_live").settings
    return _shared[0]


@pytest.fixture
def make_app(request, settings, _shared):
    """Builds an app with some settings changed (a Shippo key, say). On the shared database its
    sessions join the test's transaction."""
    built = []

    def build(**overrides):
        changed = Settings(**{**settings.model_dump(), **overrides})
        if _is_live(request):
            application = create_app(changed)
        else:
            service = bootstrap(changed, engine=_shared[1].engine)
            _join(service.session_factory, request.getfixturevalue("db_connection"))
            application = create_app(changed, service=service)
        built.append(application)
        return application

    yield build
    for application in built:
        if _is_live(request):
            application.state.engine.dispose()


@pytest.fixture
def app(request, settings, _shared):
    if _is_live(request):
        live = request.getfixturevalue("_live")
        if settings is not live.settings:  # the test's own settings: an app of its own
            application = create_app(settings)
            yield application
            application.state.engine.dispose()
            return
        if live.app is None:
            live.app = create_app(live.settings)
            live.service = live.app.state.service
        application, service = live.app, live.service
        # What the last live test left in memory: its carrier's sales, keys and reference data.
        carrier = make_carrier(live.settings)
        application.state.carrier = carrier
        application.state.service = dataclasses.replace(service, carrier=carrier)
        application.state.key_cache = KeyCache(timedelta(seconds=live.settings.auth_cache_seconds))
        service.session_factory.kw["info"][REFERENCE].clear()
        yield application
        application.state.engine.dispose()  # its connections go before the next test's copy is made
        return
    _, service, application, _ = _shared
    _join(service.session_factory, request.getfixturevalue("db_connection"))
    # A carrier of the test's own: the simulated one remembers what it sold.
    carrier = make_carrier(service.settings)
    application.state.carrier = carrier
    application.state.service = dataclasses.replace(service, carrier=carrier)
    try:
        yield application
    finally:
        service.session_factory.configure(bind=service.engine, join_transaction_mode="conservative_savepoint")
        application.state.carrier, application.state.service = service.carrier, service


@pytest.fixture
def session_factory(app):
    return app.state.session_factory


@pytest.fixture
def client(request, app, _shared):
    if _is_live(request):
        with AppClient(app) as c:
            yield c
        return
    shared_client = _shared[3]
    shared_client.cookies.clear()
    yield shared_client


@pytest.fixture
def keys(session_factory) -> dict[str, dict[str, str]]:
    """Authorization headers for one key per role."""
    return _keys(session_factory)


def _keys(session_factory) -> dict[str, dict[str, str]]:
    headers = {}
    with unit_of_work(session_factory) as session:
        for role in ("admin", "support", "warehouse", "integration"):
            _, plain = create_api_key(session, name=f"test-{role}", roles=[role])
            headers[role] = {"Authorization": f"Bearer {plain}"}
    return headers


@pytest.fixture(scope="module")
def module_service(database_template, tmp_path_factory):
    """An app, its client and a key per role on a database of the test module's own, committed to for
    real: for data a module builds once and its tests only read (nothing is rolled back between them)."""
    with databases.clone(database_template, tmp_path_factory.mktemp("module")) as url:
        application = create_app(Settings(database_url=url, **BASE_SETTINGS))
        try:
            with AppClient(application) as c:
                yield SimpleNamespace(app=application, client=c, keys=_keys(application.state.session_factory))
        finally:
            application.state.engine.dispose()


# ---- time ---------------------------------------------------------------------------------------


@pytest.fixture
def frozen_clock():
    fc = FrozenClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # a Tuesday morning
    clock.set_clock(fc)
    yield fc
    clock.set_clock(None)


# ---- a served app -------------------------------------------------------------------------------


@pytest.fixture
def live_server(app):
    """The app served by a real uvicorn on 127.0.0.1 in a thread, for concurrent clients."""
    from tests.support.servers import uvicorn_in_thread

    with uvicorn_in_thread(app) as url:
        yield url
