"""What the tests' stand-in servers share: an HTTP server on 127.0.0.1 in a daemon thread, started
and stopped as a context manager, and a free port for a server a test starts as a process."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from tests.support import http


def free_port() -> int:
    """A port nothing listens on (once the probe socket is closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def uvicorn_in_thread(app) -> Iterator[str]:
    """`app` served by a real uvicorn on 127.0.0.1 in a thread (lifespan included), for concurrent clients."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                                          limit_concurrency=500))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_until_serving(url: str, *, timeout: float = 60.0) -> None:
    """Until `url` answers 200: a served process imports the app first (slower on a cold, busy machine)."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if http.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {timeout:g} s")
        time.sleep(0.1)


class BackgroundServer:
    """Subclasses give `_handler()`. `_stopping` is set on stop, so a request made to wait (a slow or
    hanging answer) can end early."""

    def __init__(self, port: int = 0) -> None:
        self.port = port  # 0: any free one
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True  # a delayed answer must not hold up shutdown
        self._server = server
        # A short poll interval keeps shutdown (and so each test) fast.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"
