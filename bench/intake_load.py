"""Load from outside with wrk: swap intake (allocated and backordered, with and without an
Idempotency-Key), the tracking page and intake's floor (the same request authenticated and validated,
touching no table: `bench/floor_app.py`) at 1, 8 and 32 clients, packing scans and Shippo tracking
webhooks (each sent once) at 8, against
`serve --workers 2` on PostgreSQL — each next to the one-insert baseline served the same way and
measured in the same run. Prints req/s, p50/p99, the ratio to the baseline, and the server processes'
CPU per request; after the run, every 201 is a swap in the database and the records' invariants hold.

    python -m bench.intake_load [--seconds 8] [--clients 1,8,32]      (needs wrk: apt-get install wrk)
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import text

from app import migrations
from app.auth.keys import create_api_key
from app.bootstrap import bootstrap
from app.db import unit_of_work
from app.demo import seed_demo
from app.jobs import work
from app.settings import Settings
from app.shipping.carrier import Tracking, TrackingEvent
from app.shipping.simulated import make_webhook_payload
from app.swaps import intake
from app.swaps.schemas import SwapCreate
from app.warehouse.reconciliation import check_invariants
from bench import floor_app
from bench.allocation_scale import _copy_units

PG = os.environ.get("BENCH_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
HOOK_SECRET = "bench-hook-secret"
FLOOR = "floor: intake's body, no table"

LUA = r"""
if BODYFILE then
  LINES = {}
  for line in io.lines(BODYFILE) do LINES[#LINES + 1] = line end
end
local made = 0
function setup(thread)
  made = made + 1
  thread:set("tid", made)
end
local n = 0
request = function()
  n = n + 1
  local tag = RUN .. "-" .. tid .. "-" .. n
  local headers = {["Content-Type"] = "application/json"}
  if AUTH ~= "" then headers["Authorization"] = AUTH end
  if IDEM then headers["Idempotency-Key"] = tag end
  if LINES then
    local body = LINES[((n - 1) * THREADS + tid - 1) % #LINES + 1]
    return wrk.format(METHOD, PATH, headers, body)
  end
  return wrk.format(METHOD, PATH, headers, (string.gsub(BODY, "@TAG@", tag)))
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %d, "non2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d, "duration_us": %d}\n',
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, latency:percentile(50), latency:percentile(99), summary.duration))
end
"""


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live descendants (the supervisor's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _postgres_cpu_seconds() -> float:
    """User + system time of every PostgreSQL process on the machine, with what its ended processes
    spent (the postmaster's waited-for children: autovacuum workers, ended connections)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except (FileNotFoundError, ProcessLookupError):
            continue
        if head.endswith("(postgres"):
            fields = tail.split()
            total += sum(int(f) for f in fields[11:15]) / tick
    return total


def _serve(app_path: str, port: int, env: dict, *, as_filed: bool = False) -> subprocess.Popen:
    """`serve --workers 2`; `as_filed`: one plain uvicorn process on asyncio and h11, as the baseline was
    served when the performance issue was filed (before uvloop, httptools and the second process)."""
    code = ("import sys; from app.serving import serve_processes; "
            f"serve_processes('127.0.0.1', {port}, 2, 'warning', app_path={app_path!r})")
    command = ([sys.executable, "-m", "uvicorn", app_path, "--port", str(port), "--loop", "asyncio", "--http", "h11",
                "--log-level", "warning"] if as_filed else [sys.executable, "-c", code])
    proc = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit(f"{app_path} did not start")


def _wrk(url: str, *, method: str, path: str, body: str, auth: str, idem: bool, clients: int, seconds: float,
         run: str, bodies: Path | None = None) -> dict:
    """One wrk run. `bodies`: a file of request bodies, one per line, each sent once (in turn)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(f"RUN = {json.dumps(run)}\nMETHOD = {json.dumps(method)}\nPATH = {json.dumps(path)}\n"
                f"BODY = {json.dumps(body)}\nAUTH = {json.dumps(auth)}\nIDEM = {'true' if idem else 'false'}\n"
                f"THREADS = {min(clients, 2)}\nBODYFILE = {json.dumps(str(bodies)) if bodies else 'nil'}\n")
        f.write(LUA)
        script = f.name
    try:
        out = subprocess.run(["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{round(seconds)}s",
                              "--timeout", "10s", "-s", script, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script)
    result = json.loads(re.search(r"RESULT (\{.*\})", out).group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _booked_swaps(service, model_id: int, count: int, folder: Path) -> tuple[Path, Path]:
    """`count` swaps taken in and booked (simulated carrier) in this process: a file of scan bodies
    (their units, to pack) and one of tracking webhooks (an in-transit event for each outbound label)."""
    for start in range(0, count, 200):
        with unit_of_work(service.session_factory) as s:
            for i in range(start, min(count, start + 200)):
                body = SwapCreate.model_validate_json(_swap_body(model_id).replace("@TAG@", f"booked-{i}"))
                intake.create_swap(s, body, actor="bench")
    while work.run_outbox(service.session_factory, service.carrier, limit=500, only=("book_swap",)):
        pass
    with service.session_factory() as s:
        rows = s.execute(text(
            "SELECT u.asset_tag, u.depot_id, sh.carrier, sh.tracking_number FROM swap_requests w "
            "JOIN spare_units u ON u.id = w.unit_id JOIN shipments sh ON sh.swap_id = w.id "
            "WHERE w.ticket_id LIKE 'booked-%' AND sh.direction = 'outbound' AND sh.tracking_number IS NOT NULL")).all()
    at = datetime.now(UTC)
    scans, hooks = folder / "scans.jsonl", folder / "hooks.jsonl"
    scans.write_text("".join(json.dumps({"code": tag, "depot_id": depot}) + "\n" for tag, depot, _, _ in rows))
    hooks.write_text("".join(json.dumps(make_webhook_payload(Tracking(
        carrier=carrier, tracking_number=number, status="TRANSIT",
        events=[TrackingEvent(status="TRANSIT", status_details="On its way", status_date=at)]))) + "\n"
        for _, _, carrier, number in rows))
    print(f"{len(rows)} swaps booked beforehand, to scan and track")
    return scans, hooks


def _swap_body(model_id: int) -> str:
    return json.dumps({
        "ticket": {"system": "bench", "id": "@TAG@"},
        "worker": {"name": "Bench Worker", "email": "w@example.com", "timezone": "Europe/London",
                   "address": {"street1": "1 Road", "city": "Leeds", "postal_code": "LS1 1AA", "country": "GB"}},
        "needed": {"model_id": model_id}, "return_mode": "return_box"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--ready-units", type=int, default=30_000)
    parser.add_argument("--booked", type=int, default=6_000,
                        help="swaps booked beforehand, to scan and track (each once: more than a run sends)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (its name is printed)")
    parser.add_argument("--only", default="", help="run only the paths whose label contains this text")
    parser.add_argument("--baseline-as-filed", action="store_true",
                        help="also the baseline served as when the performance issue was filed (one uvicorn "
                             "process, asyncio, h11), and the intake's ratio to it")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    clients = [int(c) for c in args.clients.split(",")]
    name = f"spares_load_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    servers: list[subprocess.Popen] = []
    try:
        migrations.upgrade(url)
        service = bootstrap(Settings(database_url=url, shippo_api_key=""))
        with unit_of_work(service.session_factory) as s:
            seed_demo(s)
            _, key = create_api_key(s, name="bench", roles=["support"])
            _, warehouse = create_api_key(s, name="bench-warehouse", roles=["warehouse"])
            _, admin = create_api_key(s, name="bench-admin", roles=["admin"])
            model_id, profile_id, version = s.execute(text(
                "SELECT m.id, p.id, p.current_version FROM device_models m, config_profiles p "
                "ORDER BY m.id, p.id LIMIT 1")).one()
            depot_ids = list(s.scalars(text("SELECT id FROM depots ORDER BY id")))
        _copy_units(service.engine, 0, args.ready_units, model_id, depot_ids, profile_id, version)
        scans, hooks = _booked_swaps(service, model_id, args.booked, Path(tempfile.mkdtemp(prefix="spares-load-")))
        env = {**os.environ, "DATABASE_URL": url, "PUBLIC_BASE_URL": "http://127.0.0.1:8201", "LOG_LEVEL": "WARNING",
               "SHIPPO_API_KEY": "", "RUN_BACKGROUND_JOBS": "false", "SHIPPO_WEBHOOK_SECRETS": HOOK_SECRET}
        api = _serve("bench.floor_app:app", 8201, env)  # the service, plus the floor's route
        base = _serve("bench.baseline_app:app", 8202, env)
        servers += [api, base]
        if args.baseline_as_filed:
            servers.append(_serve("bench.baseline_app:app", 8203, env, as_filed=True))
        none_in_stock = httpx.post("http://127.0.0.1:8201/api/v1/models", headers={"Authorization": f"Bearer {admin}"},
                                   json={"sku": "BENCH-NONE", "category": "laptop", "maker": "Dell", "name": "Out",
                                         "length_cm": 40, "width_cm": 30, "height_cm": 8, "weight_kg": 2.4}).json()["id"]
        auth = f"Bearer {key}"
        one = httpx.post("http://127.0.0.1:8201/api/v1/swap-requests",
                         headers={"Authorization": auth, "Content-Type": "application/json"},
                         content=_swap_body(model_id).replace("@TAG@", "warm-1")).json()
        if "tracking_url" not in one:
            raise SystemExit(f"the warm-up swap failed: {one}")
        token = one["tracking_url"].rsplit("/", 1)[1]
        cases = [
            ("intake, allocated", "POST", "/api/v1/swap-requests", _swap_body(model_id), auth, False),
            ("intake, allocated, Idempotency-Key", "POST", "/api/v1/swap-requests", _swap_body(model_id), auth, True),
            ("intake, backordered", "POST", "/api/v1/swap-requests", _swap_body(none_in_stock), auth, False),
            ("intake, backordered, Idempotency-Key", "POST", "/api/v1/swap-requests", _swap_body(none_in_stock),
             auth, True),
            ("tracking page", "GET", f"/t/{token}", "", "", False),
            (FLOOR, "POST", floor_app.PATH, _swap_body(model_id), auth, False),
        ]
        rows, created = [], 0
        once = [("scan, packing", "POST", "/api/v1/scans", "", f"Bearer {warehouse}", False, scans),
                ("tracking webhook, in transit", "POST", f"/webhooks/shippo/{HOOK_SECRET}", "", "", False, hooks)]
        with service.session_factory() as s:
            events_before = s.scalar(text("SELECT count(*) FROM tracking_events"))
        applied, filed = 0, {}
        for c in clients:
            db0, cpu0 = _postgres_cpu_seconds(), _cpu_seconds(base.pid)
            baseline = _wrk("http://127.0.0.1:8202", method="POST", path="/ping", body='{"n": 1}', auth="", idem=False,
                            clients=c, seconds=args.seconds, run="base")
            baseline["db_ms"] = (_postgres_cpu_seconds() - db0) / max(baseline["requests"], 1) * 1000
            baseline["cpu_ms"] = (_cpu_seconds(base.pid) - cpu0) / max(baseline["requests"], 1) * 1000
            if args.baseline_as_filed:
                filed[c] = _wrk("http://127.0.0.1:8203", method="POST", path="/ping", body='{"n": 1}', auth="",
                                idem=False, clients=c, seconds=args.seconds, run="filed")
            for label, method, path, body, who, idem in cases:
                if args.only not in label:
                    continue
                cpu0, db0 = _cpu_seconds(api.pid), _postgres_cpu_seconds()
                r = _wrk("http://127.0.0.1:8201", method=method, path=path, body=body, auth=who, idem=idem, clients=c,
                         seconds=args.seconds, run=f"{label[:1]}{c}{'k' if idem else ''}{uuid.uuid4().hex[:12]}")
                cpu = _cpu_seconds(api.pid) - cpu0
                r["db_ms"] = (_postgres_cpu_seconds() - db0) / max(r["requests"], 1) * 1000
                if method == "POST" and label != FLOOR:
                    created += r["requests"] - r["non2xx"]
                rows.append((label, c, r, baseline, cpu / max(r["requests"], 1) * 1000))
            if c == 8:  # each body is sent once: the scans and tracking events run at 8 clients only
                for label, method, path, body, who, idem, lines in once:
                    if args.only not in label:
                        continue
                    cpu0, db0 = _cpu_seconds(api.pid), _postgres_cpu_seconds()
                    r = _wrk("http://127.0.0.1:8201", method=method, path=path, body=body, auth=who, idem=idem,
                             clients=c, seconds=args.seconds, run="once", bodies=lines)
                    cpu = _cpu_seconds(api.pid) - cpu0
                    r["db_ms"] = (_postgres_cpu_seconds() - db0) / max(r["requests"], 1) * 1000
                    if "webhook" in label:
                        applied += r["requests"] - r["non2xx"]
                    if r["requests"] > args.booked:
                        print(f"note: {label} sent {r['requests']} requests for {args.booked} bodies (some twice): "
                              "raise --booked")
                    rows.append((label, c, r, baseline, cpu / max(r["requests"], 1) * 1000))
        print(f"PostgreSQL, serve --workers 2 (service and baseline alike), {args.seconds:g} s per run, "
              f"load average {os.getloadavg()[0]:.2f} at the end")
        print(f"{'path':<38}{'clients':>8}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>9}{'non-2xx':>8}{'/ base':>8}"
              f"{'CPU ms':>8}{'DB ms':>7}")
        for label, c, r, b, cpu_ms in rows:
            print(f"{label:<38}{c:>8}{r['rps']:>8.0f}{r['p50_us'] / 1000:>8.1f}{r['p99_us'] / 1000:>9.1f}"
                  f"{r['non2xx'] + r['socket_errors']:>8}{r['rps'] / b['rps']:>8.2f}{cpu_ms:>8.1f}{r['db_ms']:>7.2f}")
        seen = {c: b for _, c, _, b, _ in rows}
        for c, b in seen.items():
            print(f"{'one-insert baseline':<38}{c:>8}{b['rps']:>8.0f}{b['p50_us'] / 1000:>8.1f}{b['p99_us'] / 1000:>9.1f}"
                  f"{b['non2xx'] + b['socket_errors']:>8}{1:>8.2f}{b['cpu_ms']:>8.1f}{b['db_ms']:>7.2f}")
        print("CPU ms: the service's processes, per request; DB ms: PostgreSQL's processes, per request")
        for c, b in filed.items():
            mine = [r for label, n, r, _, _ in rows if n == c and label == "intake, allocated"]
            ratio = f"; allocated intake / it: {mine[0]['rps'] / b['rps']:.2f}" if mine else ""
            print(f"the baseline as served when the issue was filed (one uvicorn process, asyncio, h11), {c} clients: "
                  f"{b['rps']:.0f} req/s, p99 {b['p99_us'] / 1000:.1f} ms{ratio}")
        with service.session_factory() as s:
            swaps = s.scalar(text(
                "SELECT count(*) FROM swap_requests WHERE ticket_system = 'bench' AND ticket_id NOT LIKE 'booked-%'")) - 1  # warm-up
            breaches = check_invariants(s)
            events = s.scalar(text("SELECT count(*) FROM tracking_events")) - events_before
        print(f"swaps answered 201: {created}, in the database: {swaps} (a request cut off by the end of a run can "
              f"be written without being counted); tracking events answered 200: {applied}, in the database: "
              f"{events}; invariants: {'clean' if not breaches else f'{len(breaches)} breach(es)'}")
        for breach in breaches[:10]:
            print(f"  breach: {breach}")
        service.engine.dispose()
    finally:
        for p in servers:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(20)
        if args.keep:
            print(f"database kept: {name}")
        else:
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
