"""Allocation latency against stock size: the database's pick (`swaps.repository.pick_ready`: one
index probe per group of ready units, then the best group's head locked `FOR UPDATE SKIP LOCKED`) at
1k, 10k, 100k
(and with --million, 1M) ready units, each pick in a transaction rolled back. Prints p50/p99 and the
ratio to the 1k run; the target is within ±20% from 1k to 1M.

Units are added with COPY, each with its ledger row (ready at its depot), so the records' invariants
hold: the run ends with the same check as `spares reconcile`.

    python -m bench.allocation_scale [--million] [--picks 200]
"""

import argparse
import io
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from app import migrations
from app.bootstrap import bootstrap
from app.db import unit_of_work
from app.demo import seed_demo
from app.settings import Settings
from app.swaps import repository
from app.swaps.allocation import Need
from app.warehouse.reconciliation import check_invariants

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _copy_units(engine, start: int, count: int, model_id: int, depot_ids: list[int], profile_id: int,
                version: str) -> None:
    """Ready units spread over every depot, one in ten imaged with an older version (stale)."""
    now = datetime.now(UTC)
    units, ledger = io.StringIO(), io.StringIO()
    for n in range(start, start + count):
        configured = (T0 + timedelta(minutes=n)).isoformat()
        image = "2000.01" if n % 10 == 0 else version
        units.write(f"BS{n:08d}\tBA{n:08d}\t{model_id}\t{depot_ids[n % len(depot_ids)]}\tready\t{profile_id}\t"
                    f"{image}\t{configured}\t{now.isoformat()}\t{now.isoformat()}\t[]\n")
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            with cur.copy("COPY spare_units (serial, asset_tag, model_id, depot_id, state, profile_id, "
                          "profile_version, configured_at, created_at, updated_at, box_contents) FROM STDIN") as copy:
                copy.write(units.getvalue())
            cur.execute("SELECT id, depot_id FROM spare_units WHERE serial >= %s AND serial < %s ORDER BY id",
                        (f"BS{start:08d}", f"BS{start + count:08d}"))
            for unit_id, depot_id in cur.fetchall():
                ledger.write(f"{unit_id}\t\\N\tready\t\\N\t{depot_id}\tbench\tstock for the benchmark\t\\N\t"
                             f"{now.isoformat()}\n")
            with cur.copy("COPY custody_ledger (unit_id, from_state, to_state, from_depot_id, depot_id, actor, "
                          "reason, reference, at) FROM STDIN") as copy:
                copy.write(ledger.getvalue())
            cur.execute("ANALYZE spare_units")
        raw.commit()
    finally:
        raw.close()


def _pick_latencies(service, need: Need, picks: int) -> list[float]:
    calendars = None
    times = []
    for _ in range(picks):
        with service.session_factory() as session:
            started = time.perf_counter()
            calendars = calendars or repository.depot_calendars(session)
            unit = repository.pick_ready(session, need, {d: T0.date() for d in calendars})
            times.append((time.perf_counter() - started) * 1000)
            assert unit is not None
            session.rollback()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--picks", type=int, default=200)
    args = parser.parse_args()
    name = f"bench_alloc_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        migrations.upgrade(url)
        service = bootstrap(Settings(database_url=url, shippo_api_key=""))
        with unit_of_work(service.session_factory) as session:
            seed_demo(session)
            model_id, profile_id, version = session.execute(text(
                "SELECT m.id, p.id, p.current_version FROM device_models m, config_profiles p "
                "ORDER BY m.id, p.id LIMIT 1")).one()
            depot_ids = list(session.scalars(text("SELECT id FROM depots ORDER BY id")))
        need = Need(model_id=model_id)
        sizes = [1_000, 10_000, 100_000] + ([1_000_000] if args.million else [])
        have, rows = 0, []
        for size in sizes:
            _copy_units(service.engine, have, size - have, model_id, depot_ids, profile_id, version)
            have = size
            times = sorted(_pick_latencies(service, need, args.picks))
            rows.append((size, statistics.median(times), times[int(len(times) * 0.99) - 1]))
        base = rows[0][1]
        print(f"{'ready units':>12} {'p50 ms':>8} {'p99 ms':>8} {'p50 / 1k':>9}")
        for size, p50, p99 in rows:
            print(f"{size:>12,} {p50:>8.2f} {p99:>8.2f} {p50 / base:>9.2f}")
        with service.session_factory() as session:
            breaches = check_invariants(session)
        print(f"invariants: {'clean' if not breaches else f'{len(breaches)} breach(es)'}")
        service.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
