"""Concurrent swap intake against a running server on PostgreSQL, next to a one-insert endpoint on
the same stack, measured in the same run. Prints throughput, p50/p99 and the ratios.

    make bench            (or: .venv/bin/python -m bench.swap_throughput --requests 2000 --concurrency 32)
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from app import migrations
from app.auth.keys import create_api_key
from app.bootstrap import bootstrap
from app.db import unit_of_work
from app.demo import seed_demo
from app.inventory.schemas import UnitCreate
from app.inventory.units import create_unit
from app.settings import Settings

PG = os.environ.get("BENCH_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


def start(module_app: str, port: int, url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", module_app, "--port", str(port), "--log-level",
                             "warning", "--no-access-log"], env=env)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{module_app} did not start")


def fire(url: str, path: str, bodies: list[dict], headers: dict, concurrency: int) -> tuple[float, list[float]]:
    local = httpx.Client(base_url=url, headers=headers, timeout=60, limits=httpx.Limits(max_connections=concurrency))

    def one(body):
        t = time.perf_counter()
        r = local.post(path, json=body)
        if r.status_code != 201:
            raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")
        return time.perf_counter() - t

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, bodies))
    local.close()
    return time.perf_counter() - started, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--ready-units", type=int, default=300)
    args = parser.parse_args()

    name = f"spares_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    procs = []
    try:
        migrations.upgrade(url)
        factory = bootstrap(Settings(database_url=url)).session_factory
        with unit_of_work(factory) as s:
            seed_demo(s)
            _, key = create_api_key(s, name="bench", roles=["support"])
        with unit_of_work(factory) as s:  # plenty of ready stock of the requested model at LON
            for i in range(args.ready_units):
                create_unit(s, UnitCreate(serial=f"BENCH{i:06d}", asset_tag=f"BT{i:06d}", model_id=1, depot_id=1,
                                          state="ready"), actor="bench")
        procs.append(start("app.asgi:app", 8101, url))
        procs.append(start("bench.baseline_app:app", 8102, url))
        swap_bodies = [{
            "ticket": {"system": "bench", "id": f"T{i}"},
            "worker": {"name": "Bench Worker", "email": "w@example.com", "timezone": "Europe/London",
                       "address": {"street1": "1 Road", "city": "Leeds", "postal_code": "LS1 1AA", "country": "GB"}},
            "needed": {"model_id": 1}, "return_mode": "return_box",
        } for i in range(args.requests)]
        auth = {"Authorization": f"Bearer {key}"}
        fire("http://127.0.0.1:8102", "/ping", [{"n": i} for i in range(50)], {}, 4)  # warm up both
        base_t, base_lat = fire("http://127.0.0.1:8102", "/ping", [{"n": i} for i in range(args.requests)], {},
                                args.concurrency)
        swap_t, swap_lat = fire("http://127.0.0.1:8101", "/api/v1/swap-requests", swap_bodies, auth,
                                args.concurrency)
        base_rps, swap_rps = args.requests / base_t, args.requests / swap_t
        print(f"{args.requests} requests, concurrency {args.concurrency}, PostgreSQL, one uvicorn worker each")
        print(f"{'endpoint':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
        print(f"{'one-insert baseline':<28}{base_rps:>10.0f}{pct(base_lat, 50):>10.1f}{pct(base_lat, 99):>10.1f}")
        print(f"{'POST /swap-requests':<28}{swap_rps:>10.0f}{pct(swap_lat, 50):>10.1f}{pct(swap_lat, 99):>10.1f}")
        print(f"ratio swap/baseline throughput: {swap_rps / base_rps:.2f}; "
              f"p50 latency ratio: {pct(swap_lat, 50) / pct(base_lat, 50):.2f}")
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
