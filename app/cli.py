"""Command line: `spares init-db | serve | worker | create-api-key | revoke-api-key | import-units |
seed-demo | simulate | simulate-service | reconcile | openapi`."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from app import migrations
from app.auth.keys import Role, create_api_key, revoke_api_key
from app.collector import collect_less
from app.db import unit_of_work
from app.errors import DomainError
from app.serving import default_workers, serve_processes
from app.settings import get_settings

app = typer.Typer(help="Spares inventory and courier-swap service.", no_args_is_help=True)


@app.callback()
def _start() -> None:
    collect_less()


def _service():
    from app.bootstrap import bootstrap

    return bootstrap(get_settings())


def _factory():
    return _service().session_factory


@contextmanager
def _exit_on_domain_error() -> Iterator[None]:
    """A refused command prints why (and each bad line, for an import) and exits 1."""
    try:
        yield
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        for err in exc.extra.get("errors", []):
            where = f"line {err['line']}" if "line" in err else err.get("field", "")
            typer.echo(f"  {where}: {err['message']}", err=True)
        raise typer.Exit(1) from None


@app.command("init-db")
def init_db() -> None:
    """Migrate the database to the newest schema."""
    migrations.upgrade(get_settings().database_url)
    typer.echo("database at head")


@app.command("create-api-key")
def create_key(
    name: str,
    role: Annotated[list[Role], typer.Option("--role", "-r", help="repeat for several roles")] = [Role.SUPPORT],  # noqa: B006
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    with _exit_on_domain_error(), unit_of_work(_factory()) as session:
        _, plain = create_api_key(session, name=name, roles=[r.value for r in role])
    typer.echo(plain)


@app.command("revoke-api-key")
def revoke_key(name: str) -> None:
    """Revoke an API key by name: it is refused from the next request on."""
    with _exit_on_domain_error(), unit_of_work(_factory()) as session:
        revoke_api_key(session, name)
    typer.echo(f"revoked {name}")


@app.command("import-units")
def import_units(path: Path, actor: str = "cli-import") -> None:
    """Import units from a CSV file (all or nothing)."""
    from app.inventory.csv_io import import_units as run_import

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        typer.echo(f"error: cannot read {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    except UnicodeDecodeError:
        typer.echo(f"error: {path} is not UTF-8 text.", err=True)
        raise typer.Exit(1) from None
    with _exit_on_domain_error(), unit_of_work(_factory()) as session:
        created = run_import(session, text, actor=actor)
    typer.echo(f"imported {len(created)} units")


@app.command("seed-demo")
def seed_demo(
    reset: Annotated[bool, typer.Option(help="first remove every table and its data, then migrate afresh")] = False,
) -> None:
    """Add demo depots, models, profiles and ~50 units (skipped if depots exist)."""
    from app.demo import seed_demo as run_seed

    if reset:
        url = get_settings().database_url
        migrations.downgrade(url, "base")
        migrations.upgrade(url)
        typer.echo("every table emptied and migrated afresh")
    with unit_of_work(_factory()) as session:
        seeded = run_seed(session)
    typer.echo("demo data added" if seeded else "depots exist already; demo data not added")


@app.command()
def worker() -> None:
    """Run the background work in the foreground: the outbox (courier bookings, label refunds) and the
    sweeps (tracking poll, waitlist, returns). Safe to run in several processes against one PostgreSQL.
    SIGTERM or Ctrl-C stops it cleanly: a carrier call under way is finished and recorded, the job is
    handed back for another worker, and nothing stays claimed."""
    import signal

    work = _service().background_work()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: work.stop())
    typer.echo("worker running; SIGTERM or Ctrl-C stops it")
    work.run()
    typer.echo("worker stopped")


@app.command()
def simulate(
    swap_id: int,
    until: Annotated[str, typer.Option(help="delivered | returned")] = "delivered",
) -> None:
    """Demo: play the simulated carrier's tracking events for a swap now (as its webhooks would)."""
    from app import clock
    from app.shipping.tracking import Event, apply_event
    from app.swaps.repository import shipments as shipments_of

    if get_settings().shippo_api_key:
        typer.echo("error: simulate drives the simulated carrier only (SHIPPO_API_KEY is set)", err=True)
        raise typer.Exit(1)
    plan = {"outbound": ["TRANSIT", "DELIVERED"], "return": ["TRANSIT", "DELIVERED"] if until == "returned" else []}
    with unit_of_work(_factory()) as session:
        shipments = {s.direction: s for s in shipments_of(session, swap_id)}
        if "outbound" not in shipments:
            typer.echo(f"error: swap {swap_id} has no booked shipment yet", err=True)
            raise typer.Exit(1)
        now = clock.now()
        for direction, statuses in plan.items():
            row = shipments.get(direction)
            for i, status in enumerate(statuses):
                if row is None or row.tracking_number is None:
                    continue
                result = apply_event(session, Event(carrier=row.carrier, tracking_number=row.tracking_number,
                                                    status=status, status_date=now.replace(microsecond=i),
                                                    details=f"simulated {status.lower()}"), source="simulated")
                typer.echo(f"{direction} {status}: {result}")


@app.command("simulate-service")
def simulate_service(
    scenario_file: Annotated[Path | None, typer.Option("--scenario", help="a scenario as JSON (default: the built-in "
                                                       "one: 3 depots, 3 models, 1,000 workers)")] = None,
    days: Annotated[int | None, typer.Option(help="the period simulated (default 365)")] = None,
    workers: Annotated[int | None, typer.Option(help="scale the depots' worker counts to this total")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed: the same seed gives the same run")] = None,
    target: Annotated[float | None, typer.Option(help="next-business-day rate wanted (default 0.98)")] = None,
    out: Annotated[Path, typer.Option(help="folder for result.json, days.csv, plot.png, par-levels.json")] = Path(
        "simulation"),
    verify: Annotated[bool, typer.Option(help="re-run with the recommended par levels and raise them where the "
                                              "simulated rate misses the target")] = True,
    apply: Annotated[bool, typer.Option("--apply", help="set the recommended par levels in this service "
                                                        "(its DATABASE_URL); depots and models by code and SKU")] = False,
    database: Annotated[str, typer.Option(help="'memory' (SQLite in memory) or 'postgresql' (a throwaway database "
                                               "on DATABASE_URL's server, dropped afterwards)")] = "memory",
) -> None:
    """Simulate the service through its own code and recommend par levels per depot × model: prints
    the table, writes the plot, the daily CSV, the JSON answer and the par levels."""
    from app.inventory import catalog
    from app.inventory.schemas import ParLevelsSet
    from app.planning import report
    from app.planning.scenario import Scenario, scaled_to
    from app.simulation import plan

    raw = json.loads(scenario_file.read_text(encoding="utf-8")) if scenario_file else {}
    changes = {k: v for k, v in (("days", days), ("seed", seed), ("target", target)) if v is not None}
    scenario = Scenario.model_validate({**raw, **changes})
    if workers is not None:
        scenario = scaled_to(scenario, workers)
    if database not in ("memory", "postgresql"):
        typer.echo("error: --database is 'memory' or 'postgresql'", err=True)
        raise typer.Exit(2)
    url = "sqlite://" if database == "memory" else get_settings().database_url
    result = plan.simulate(scenario, verify=verify, database_url=url, progress=lambda m: typer.echo(m, err=True))
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    (out / "days.csv").write_text(report.daily_csv(result), encoding="utf-8")
    (out / "plot.png").write_bytes(report.plot_png(result))
    (out / "par-levels.json").write_text(json.dumps(result["par_levels"]["apply"], indent=1), encoding="utf-8")
    typer.echo(report.table(result))
    typer.echo(f"wrote {out}/result.json, days.csv, plot.png, par-levels.json")
    if apply:
        with _exit_on_domain_error(), unit_of_work(_factory()) as session:
            applied = catalog.set_par_levels(session, ParLevelsSet.model_validate(result["par_levels"]["apply"]))
        typer.echo(f"applied {len(applied)} par levels: "
                   + ", ".join(f"{p.depot_code}/{p.sku}={p.min_ready}" for p in applied))


@app.command()
def openapi(out: Path = Path("openapi/openapi.json")) -> None:
    """Write the served OpenAPI document to a file."""
    from app.main import create_app

    out.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone has no openapi/ directory
    out.write_text(json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n")
    typer.echo(f"wrote {out}")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    demo: Annotated[bool, typer.Option(help="migrate, seed demo data, print a fresh admin key")] = False,
    workers: Annotated[int | None, typer.Option(min=1, help="server processes (default: one per core on "
                                                            "PostgreSQL, one on SQLite)")] = None,
) -> None:
    """Run the HTTP API (and, on the embedded default, the background jobs)."""
    get_settings.cache_clear()
    if not demo and "public_base_url" not in get_settings().model_fields_set:
        # Workers open the links in their messages on their phones: a guessed address would send
        # them to a server they cannot reach. Only the demo, on this machine, may go without.
        typer.echo("error: set PUBLIC_BASE_URL (e.g. https://spares.example.com): the address workers' tracking "
                   "links and the carrier's webhooks use. Only `serve --demo` links to this machine by itself.",
                   err=True)
        raise typer.Exit(2)
    # The demo's tracking and label links point at this server.
    public_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # a wildcard is no address to link to
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{public_host}:{port}")
    get_settings.cache_clear()
    if demo:
        os.environ.setdefault("RUN_BACKGROUND_JOBS", "true")
        # A demo journey in minutes, not a day: in transit after 2 min, delivered after 5.
        os.environ.setdefault("SIM_IN_TRANSIT_AFTER_SECONDS", "120")
        os.environ.setdefault("SIM_DELIVERED_AFTER_SECONDS", "300")
        os.environ.setdefault("TRACKING_POLL_QUIET_SECONDS", "30")
        get_settings.cache_clear()
        init_db()
        seed_demo()
        with unit_of_work(_factory()) as session:
            name = "demo-admin-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            _, plain = create_api_key(session, name=name, roles=[Role.ADMIN.value])
        typer.echo(f"\nAdmin API key ({name}), shown once:\n  {plain}\n"
                   f"Try: curl -H 'Authorization: Bearer {plain}' http://{host}:{port}/api/v1/stock\n")
    workers = workers or default_workers(get_settings().database_url)
    if workers == 1:
        import uvicorn

        from app.main import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level="info")
    else:  # the supervisor only starts and watches the processes, which import the app themselves
        serve_processes(host, port, workers)


@app.command()
def reconcile() -> None:
    """Check the records' invariants (one state and place per unit, continuous ledgers, one reservation
    per held unit). Prints each breach and exits 1 when there is any."""
    from app.warehouse.reconciliation import check_invariants

    with unit_of_work(_factory()) as session:
        breaches = check_invariants(session)
    for b in breaches:
        where = " ".join(f"{name} {value}" for name, value in (("unit", b.unit_id), ("swap", b.swap_id)) if value)
        typer.echo(f"{b.kind}: {where}: {b.detail}" if where else f"{b.kind}: {b.detail}")
    if breaches:
        typer.echo(f"{len(breaches)} breach(es)", err=True)
        raise typer.Exit(1)
    typer.echo("no breaches")


if __name__ == "__main__":
    app()
