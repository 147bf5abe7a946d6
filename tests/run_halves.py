"""`make test`: the suite on SQLite and on PostgreSQL at the same time, each half spread over xdist
workers, under coverage; prints each half's time and the line coverage of app/, and fails when a
half fails (pytest's exit 5, no tests, included) or a module of app/ is under the coverage floor.

    python -m tests.run_halves [--pg URL] [--floor 80] [pytest args…]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _start(name: str, env: dict, workers: int, extra: list[str], log: Path) -> tuple[subprocess.Popen, float]:
    command = [sys.executable, "-m", "coverage", "run", "-m", "pytest", "-n", str(workers), "--dist", "worksteal", *extra]
    out = log.open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT), time.monotonic()


def _coverage(floor: float) -> list[str]:
    """Combines the halves' data, prints the report and returns the modules under the floor."""
    run = [sys.executable, "-m", "coverage"]
    subprocess.run([*run, "combine", "-q"], cwd=ROOT, check=True)
    subprocess.run([*run, "report", "--skip-covered", "--sort=cover"], cwd=ROOT, check=False)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "coverage.json"
        subprocess.run([*run, "json", "-q", "-o", str(target)], cwd=ROOT, check=True)
        files = json.loads(target.read_text())["files"]
    return [f"{path}: {data['summary']['percent_covered']:.0f}%" for path, data in sorted(files.items())
            if data["summary"]["num_statements"] and data["summary"]["percent_covered"] < floor]


LOOP = "i = 0\nwhile i < 20_000_000:\n    i += 1\n"


def _loop_seconds() -> float:
    """How fast this machine runs Python now: the CPU time of a fixed 20-million-step loop at a module's
    top level, in a process of its own (about 1 s on a typical core; this workplace's machines have
    taken 0.8 to 4 s). The suite's times are comparable across runs only next to it."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", LOOP], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("PG_TEST_URL", PG_URL))
    parser.add_argument("--floor", type=float, default=80.0)
    parser.add_argument("--sqlite-workers", type=int, default=2)
    parser.add_argument("--pg-workers", type=int, default=2)
    args, extra = parser.parse_known_args()

    # Cache compiled and assertion-rewritten modules; measure through sys.monitoring (Python 3.12+),
    # which costs next to nothing (coverage falls back to its tracer on older Pythons).
    base = {**os.environ, "PYTHONDONTWRITEBYTECODE": "", "COVERAGE_CORE": "sysmon"}
    base.pop("TEST_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "coverage", "erase"], cwd=ROOT, check=True)
    loop_before = _loop_seconds()
    logs = Path(tempfile.mkdtemp(prefix="spares-test-"))
    halves = {
        "SQLite": _start("sqlite", base, args.sqlite_workers, extra, logs / "sqlite.log"),
        "PostgreSQL": _start("postgres", {**base, "TEST_DATABASE_URL": args.pg}, args.pg_workers, extra,
                             logs / "postgres.log"),
    }
    started = min(t for _, t in halves.values())
    results = {}
    for name, (proc, t0) in halves.items():
        results[name] = (proc.wait(), time.monotonic() - t0)
    total = time.monotonic() - started
    for name in halves:
        print(f"\n===== {name} half =====", flush=True)
        print((logs / f"{'sqlite' if name == 'SQLite' else 'postgres'}.log").read_text(), end="", flush=True)
    print("\n===== coverage of app/ =====", flush=True)
    under = _coverage(args.floor)
    print("\n===== times =====")
    for name, (code, seconds) in results.items():
        print(f"{name} half: {seconds:.0f} s, pytest exit {code}")
    print(f"both halves (run at once): {total:.0f} s")
    print(f"this machine's speed: a 20-million-step Python loop took {loop_before:.2f} s before the run and "
          f"{_loop_seconds():.2f} s after it (about 1 s on a typical core)")
    failed = [name for name, (code, _) in results.items() if code != 0]
    if under:
        print(f"modules under {args.floor:.0f}% line coverage:\n  " + "\n  ".join(under))
    if failed:
        print("FAILED: " + ", ".join(failed) + " half")
    return 1 if failed or under else 0


if __name__ == "__main__":
    sys.exit(main())
