"""Serving the API with several processes on one port.

uvicorn's supervisor binds the listening socket itself with the protocol left at 0; accepted
connections inherit it, and asyncio turns TCP_NODELAY on only for sockets that say IPPROTO_TCP, so
every keep-alive request after the first waits ~40 ms on the peer's delayed ACK (uvicorn issue
#3149). We bind the socket ourselves, saying TCP, and hand it to the supervisor.

Several processes keep their request metrics in one folder (prometheus-client's multiprocess mode):
one is made for them when PROMETHEUS_MULTIPROC_DIR is not set.

The supervisor pings each worker and kills one that has not answered within its health-check time
(uvicorn's default: 5 s), then starts another. A worker answers only once it has imported the command
line's module, so on a busy machine one still starting was killed and replaced again and again and
never served. We give it WORKER_HEALTHCHECK_SECONDS: long enough for a starved start or a long pause,
short enough that a hung worker is still replaced."""

import os
import socket
import tempfile

WORKER_HEALTHCHECK_SECONDS = 30


def default_workers(database_url: str) -> int:
    """One per core on PostgreSQL; one on the SQLite file, which takes one writer at a time anyway."""
    return 1 if database_url.startswith("sqlite") else (os.cpu_count() or 1)


def tcp_listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve_processes(host: str, port: int, workers: int, log_level: str = "info", *,
                    app_path: str = "app.asgi:app") -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    folder = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="spares-metrics-"))
    os.makedirs(folder, exist_ok=True)
    config = uvicorn.Config(app_path, host=host, port=port, workers=workers, log_level=log_level,
                            access_log=log_level in ("debug", "trace", "info"),
                            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)
    Multiprocess(config, sockets=[tcp_listener(host, port)]).run()
