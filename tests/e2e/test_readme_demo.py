"""The README's demo walk, run as written (its shell blocks, in bash) against one `spares serve --demo`,
at three clock times — before the London cut-off, after it, on a Saturday —, each walk on the data the
one before it left."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import http
from tests.support.servers import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]


def demo_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Demo: a swap from request to delivered"):readme.index("How the service is doing")]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2, "the demo is two shell blocks: the request, then the whole journey"
    return blocks


def script_for(key: str, port: int) -> str:
    first, journey = demo_blocks()
    assert "KEY=spk_...;" in first and "http://127.0.0.1:8000/api/v1" in first
    first = first.replace("KEY=spk_...;", f"KEY={key};").replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
    # -e: a command that fails stops the walk (a failed curl shows in the `get` that reads its answer);
    # no pipefail: `| head -20` closing early is not a failure
    return "set -eu\n" + first + journey + 'echo "WALKED swap=$SWAP unit=$TAG old=$OLD"\n'


class Demo:
    def __init__(self, tmp_path: Path, at: str) -> None:
        self.port = free_port()
        self.clock = tmp_path / "clock"
        self.clock.write_text(at)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SHIPPO_", "PUBLIC_BASE"))}
        self.env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}", CLOCK_FILE=str(self.clock),
                        SWEEP_EVERY_SECONDS="1")
        spares = str(Path(sys.executable).with_name("spares"))
        self.server = subprocess.Popen([spares, "serve", "--demo", "--port", str(self.port)], env=self.env, cwd=ROOT,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.key = self._key()
        self.base = f"http://127.0.0.1:{self.port}"
        wait_until_serving(f"{self.base}/readyz")

    def _key(self) -> str:
        lines, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.server.stdout.readline()
            if not line:
                break
            lines.append(line)
            if found := re.search(r"\b(spk_[A-Za-z0-9_-]+)", line):
                return found.group(1)
        raise AssertionError("".join(lines))

    def walk(self) -> dict[str, str]:
        done = subprocess.run(["bash", "-c", script_for(self.key, self.port)], check=False, cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        walked = re.search(r"WALKED swap=(\d+) unit=(\S+) old=(\S+)", done.stdout)
        assert walked, done.stdout[-3000:]
        return {"swap": walked.group(1), "unit": walked.group(2), "old": walked.group(3), "out": done.stdout}

    def get(self, path: str) -> dict:
        r = http.get(f"{self.base}/api/v1{path}", headers={"Authorization": f"Bearer {self.key}"}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self) -> None:
        self.server.terminate()
        self.server.communicate(timeout=20)


@pytest.mark.any_database  # the demo is the embedded default: SQLite
def test_the_readme_demo_walks_a_swap_back_to_ready_stock_at_any_hour(tmp_path):
    """One served demo, its clock moved between walks (the clock file is re-read): before London's
    16:00 cut-off, after it (again on the same data), and on a Saturday."""
    times = [("2026-12-01T09:00:00+00:00", "2026-12-01"),  # Tuesday, before the cut-off: ships today
             ("2026-12-01T17:30:00+00:00", "2026-12-02"),  # Tuesday, after it: ships Wednesday
             ("2026-12-05T11:00:00+00:00", "2026-12-07")]  # Saturday: ships Monday
    demo = Demo(tmp_path, times[0][0])
    try:
        walks = []
        for at, ships in times:
            demo.clock.write_text(at)
            walked = demo.walk()
            swap = demo.get(f"/swap-requests/{walked['swap']}")
            assert swap["depot_code"] == "LON" and swap["ship_date"] == ships, (at, swap["ship_date"])
            assert swap["status"] == "closed", (at, [e["kind"] for e in swap["timeline"]])
            assert demo.get(f"/units/lookup?code={walked['old']}")["state"] == "ready"
            assert demo.get(f"/units/lookup?code={walked['unit']}")["state"] == "deployed"
            walks.append(walked)
        # The second walk takes back the laptop the first one delivered.
        assert walks[0]["swap"] != walks[1]["swap"] and walks[1]["old"] == walks[0]["unit"]
    finally:
        demo.stop()
