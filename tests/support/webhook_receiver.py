"""A webhook receiver for tests: an HTTP server on 127.0.0.1 (free port, background thread) that keeps
every request it gets and answers as told.

    with Receiver() as hook:
        hook.answer(500, times=2)              # the next two requests get a 500, then 204s again
        hook.answer(429, retry_after="120")    # Retry-After on the answer
        hook.hang(3.0)                         # every request waits this long before its answer
        hook.received                          # [Received(headers, body, at), ...]
"""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.support.servers import BackgroundServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic()

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver(BackgroundServer):
    def __init__(self, path: str = "/hooks") -> None:
        super().__init__()
        self.path = path
        self.received: list[Received] = []
        self._answers: deque[tuple[int, str | None]] = deque()
        self._hang = 0.0
        self._lock = threading.Lock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body, time.monotonic()))
                    status, retry_after = receiver._answers.popleft() if receiver._answers else (204, None)
                    hang = receiver._hang
                if hang:
                    receiver._stopping.wait(hang)  # a stopping server lets it go
                try:
                    self.send_response(status)
                    if retry_after is not None:
                        self.send_header("Retry-After", retry_after)
                    text = b"" if status == 204 else json.dumps({"status": status}).encode()
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting
                    pass

            def log_message(self, *args):
                pass

        return Handler

    @property
    def url(self) -> str:
        return super().url + self.path

    def answer(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        with self._lock:
            self._answers.extend([(status, retry_after)] * times)

    def hang(self, seconds: float) -> None:
        with self._lock:
            self._hang = seconds

    def types(self) -> list[str]:
        return [r.json["type"] for r in self.received]
