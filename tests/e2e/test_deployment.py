"""The deployable layout. Base images cannot be pulled here, so what can be checked is: the Dockerfile
(non-root, exec-form entrypoint so `docker stop` reaches the service, a healthcheck, migrations as a
command of their own), the build context the ignore file leaves, the compose file's services; and the
same layout run as processes — PostgreSQL, two API processes, two workers — carrying a swap."""

import fnmatch
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from app.auth.keys import create_api_key
from app.db import unit_of_work
from app.settings import Settings
from tests.support import factories as f
from tests.support import http
from tests.support.factories import swap_body
from tests.support.servers import free_port, wait_until_serving
from tests.support.service import BASE_SETTINGS, worker_factory

ROOT = Path(__file__).resolve().parents[2]


def _instructions(stage: str) -> list[tuple[str, str]]:
    lines, joined = [], ""
    for raw in stage.splitlines():
        if raw.strip().startswith("#") or not raw.strip():
            continue
        joined += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            word, _, rest = joined.strip().partition(" ")
            lines.append((word.upper(), rest.strip()))
            joined = ""
    return lines


@pytest.mark.any_database
def test_the_image_runs_as_a_user_with_an_exec_entrypoint_and_a_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    stages = text.split("\nFROM ")
    assert len(stages) >= 2, "a build stage and a run stage"
    final = _instructions("FROM " + stages[-1])
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    entrypoint = next(rest for word, rest in final if word == "ENTRYPOINT")
    assert json.loads(entrypoint) == ["spares"]  # exec form: the service is PID 1 and gets SIGTERM
    health = next(rest for word, rest in final if word == "HEALTHCHECK")
    assert "CMD [" in health and "/readyz" in health
    command = json.loads(next(rest for word, rest in final if word == "CMD"))
    assert command[0] == "serve" and "init-db" not in command  # migrations are their own command
    assert not any(word == "RUN" and "pip" in rest for word, rest in final)  # nothing built in the run stage


def _ignored(rel: str, pattern: str) -> bool:
    """Docker's rule, for the patterns this file uses: a pattern names a path from the context's root
    (`*` within one level), or any depth after `**/`; naming a folder names all it holds."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    if pattern.startswith("**/"):
        return any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts)
    return any(fnmatch.fnmatchcase(p, pattern) and p.count("/") == pattern.count("/") for p in prefixes)


def _kept_by_dockerignore() -> list[Path]:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]

    def kept(rel: str) -> bool:
        keep = True
        for pattern in patterns:  # the last matching pattern decides
            if _ignored(rel, pattern.lstrip("!").rstrip("/")):
                keep = pattern.startswith("!")
        return keep

    def may_bring_back(rel: str) -> bool:
        """A `!` pattern could keep something below this ignored folder."""
        return any(p.startswith("!**/") or f"{p[1:].rstrip('/')}/".startswith(f"{rel}/")
                   for p in patterns if p.startswith("!"))

    found = []
    for folder, dirs, files in os.walk(ROOT):
        base = Path(folder).relative_to(ROOT).as_posix()

        def rel(name: str, base=base) -> str:
            return name if base == "." else f"{base}/{name}"

        # An ignored folder nothing is brought back from is not walked (.venv alone is ~30,000 files).
        dirs[:] = [d for d in dirs if kept(rel(d)) or may_bring_back(rel(d))]
        found += [Path(folder) / f for f in files if kept(rel(f))]
    return found


@pytest.mark.any_database
def test_the_build_context_holds_only_what_the_image_needs():
    kept = _kept_by_dockerignore()
    tops = {p.relative_to(ROOT).parts[0] for p in kept}
    assert tops <= {"pyproject.toml", "README.md", "alembic.ini", "app", "migrations"}, tops
    assert not [p for p in kept if "__pycache__" in p.parts or p.suffix in (".pyc", ".db")]
    assert sum(p.stat().st_size for p in kept) < 5_000_000  # was 262 MB with .venv and the SQLite file


@pytest.mark.any_database
def test_the_compose_file_runs_postgres_migrations_two_api_processes_and_two_workers():
    spec = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = spec["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["init-db"]
    api, worker = services["api"], services["worker"]
    assert api["command"][:1] == ["serve"] and api["command"][api["command"].index("--workers") + 1] == "2"
    assert worker["command"] == ["worker"] and worker["deploy"]["replicas"] == 2
    for service in (api, worker):
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert ":?" in env["SECRET_KEY"] and ":?" in env["PUBLIC_BASE_URL"]  # compose refuses to start without




@pytest.mark.postgres_only
@pytest.mark.live_db
def test_the_layout_as_processes_carries_a_swap(database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SHIPPO_API_KEY": "", "RUN_BACKGROUND_JOBS": "false",
           "SECRET_KEY": "layout-test-secret", "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "SWEEP_EVERY_SECONDS": "1"}
    (tmp_path / "metrics").mkdir()
    spares = [sys.executable, "-m", "app.cli"]
    factory = worker_factory(Settings(database_url=database_url, **BASE_SETTINGS))
    with unit_of_work(factory) as session:
        _, key = create_api_key(session, name="layout", roles=["admin"])
    factory.kw["bind"].dispose()
    processes = [subprocess.Popen([*spares, "serve", "--workers", "2", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    processes += [subprocess.Popen([*spares, "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL) for _ in range(2)]
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with http.client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as api:
            wait_until_serving(f"http://127.0.0.1:{port}/readyz")
            depot = f.depot(api, headers, "LON")
            model = f.model(api, headers, sku="LAT-5440")
            f.unit(api, headers, model["id"], depot["id"])
            swap = api.post("/api/v1/swap-requests", headers={"Idempotency-Key": "layout-1"},
                            json=swap_body(model["id"])).json()
            assert swap["status"] == "allocated", swap
            deadline, status = time.monotonic() + 30, None
            while time.monotonic() < deadline and status != "label_booked":
                status = api.get(f"/api/v1/swap-requests/{swap['id']}").json()["status"]
                time.sleep(0.2)
            assert status == "label_booked"  # a worker process booked the courier
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=40) for process in processes]
    assert codes == [0, 0, 0]  # each stopped cleanly
