"""`spares serve --workers N`: several server processes on one port, each connection with TCP_NODELAY
(uvicorn's own supervisor socket loses it), request metrics shared, a clean stop on SIGTERM, and a
worker slow to answer its supervisor (a busy machine) left to serve."""

import asyncio
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.serving import default_workers, tcp_listener
from tests.support.servers import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]


def _nodelay_of_accepted(listener: socket.socket) -> int:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        seen = loop.create_future()

        class Report(asyncio.Protocol):
            def connection_made(self, transport):
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listener.listen()
        server = await loop.create_server(Report, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        value = await asyncio.wait_for(seen, 5)
        writer.close()
        server.close()
        return value

    return asyncio.run(main())


def test_connections_accepted_on_our_listener_have_tcp_nodelay():
    assert _nodelay_of_accepted(tcp_listener("127.0.0.1", 0)) != 0
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # what uvicorn's supervisor binds
    plain.bind(("127.0.0.1", 0))
    assert _nodelay_of_accepted(plain) == 0  # the issue is real here: Nagle stays on


def test_one_process_on_the_sqlite_file_else_one_per_core():
    assert default_workers("sqlite:///./data/spares.db") == 1
    assert default_workers("postgresql+psycopg://db/spares") == (os.cpu_count() or 1)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and "uvicorn" not in (entry / "cmdline").read_bytes().decode(errors="replace") \
                    and "resource_tracker" not in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
    return found


def _told(server: subprocess.Popen) -> str:
    """What the stopped server wrote: uvicorn's supervisor says when and why it replaced a worker."""
    server.kill()
    return server.communicate(timeout=15)[1].decode(errors="replace")[-4000:]


@contextmanager
def _two_server_processes(database_url: str, folder: Path) -> Iterator[tuple[subprocess.Popen, int, list[int]]]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SHIPPO_API_KEY": "", "RUN_BACKGROUND_JOBS": "false",
           "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    (folder / "metrics").mkdir()
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/healthz")
        deadline = time.monotonic() + 60  # a busy machine starts a process slowly
        while len(children := _children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(children) == 2, _told(server)
        yield server, port, children
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.live_db
def test_two_server_processes_serve_one_port_and_stop_cleanly(database_url, tmp_path):
    with _two_server_processes(database_url, tmp_path) as (server, port, _):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)  # one keep-alive connection
        for _ in range(20):
            conn.request("GET", "/healthz")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        served = sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
                     if s.name == "spares_http_requests_total" and s.labels.get("route") == "/healthz")
        assert served == 20 + 1  # and the readiness poll
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0


@pytest.mark.live_db
def test_a_worker_without_cpu_for_a_few_seconds_is_not_killed_and_replaced(database_url, tmp_path):
    """uvicorn's supervisor kills a worker that does not answer its ping within 5 s (by default). On a
    busy machine a worker still starting could not, and was replaced again and again, never serving."""
    with _two_server_processes(database_url, tmp_path) as (server, port, children):
        os.kill(children[0], signal.SIGSTOP)  # no CPU at all, for longer than uvicorn's default
        time.sleep(8)
        os.kill(children[0], signal.SIGCONT)
        wait_until_serving(f"http://127.0.0.1:{port}/healthz")
        time.sleep(1.5)  # the supervisor checks every 0.5 s
        assert sorted(_children(server.pid)) == sorted(children), _told(server)
