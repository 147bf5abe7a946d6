"""An HTTP client for an app in the test's own process, run on an event loop in the calling thread.

Starlette's TestClient runs the app on a loop in another thread and crosses between the two threads
several times a request (about 2.5 ms of CPU here, more than a simple request costs the app). This
client runs the same ASGI conversation (lifespan included) with no thread of its own; calls from
several threads at once take turns."""

import asyncio
import threading
from typing import Any, Self

import httpx


class _AppTransport(httpx.BaseTransport):
    def __init__(self, app, loop: asyncio.AbstractEventLoop, lock: threading.Lock) -> None:
        self.app, self.loop, self.lock = app, loop, lock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw], "scheme": request.url.scheme,
            "path": request.url.path, "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query, "server": (request.url.host, request.url.port or 80),
            "client": ("testclient", 50000), "root_path": "", "extensions": {},
        }
        answer: dict[str, Any] = {"body": []}

        async def call() -> None:
            sent = asyncio.Event()
            delivered = False

            async def receive() -> dict:
                nonlocal delivered
                if delivered:
                    await sent.wait()
                    return {"type": "http.disconnect"}
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    answer["status"], answer["headers"] = message["status"], message.get("headers", [])
                elif message["type"] == "http.response.body":
                    answer["body"].append(message.get("body", b""))
                    if not message.get("more_body", False):
                        sent.set()

            try:
                await self.app(scope, receive, send)
            except Exception:  # noqa: BLE001 - as TestClient(raise_server_exceptions=False): a 500
                if "status" not in answer:
                    answer.update(status=500, headers=[], body=[b"Internal Server Error"])

        with self.lock:
            self.loop.run_until_complete(call())
        return httpx.Response(answer["status"], headers=answer["headers"], content=b"".join(answer["body"]),
                              request=request)


class AppClient(httpx.Client):
    """`with AppClient(app) as client:` runs the app's lifespan around the block, like TestClient."""

    def __init__(self, app, base_url: str = "http://testserver", **options: Any) -> None:
        self._loop, self._lock, self._app = asyncio.new_event_loop(), threading.Lock(), app
        super().__init__(transport=_AppTransport(app, self._loop, self._lock), base_url=base_url,
                         follow_redirects=True, headers={"user-agent": "testclient"}, **options)
        self._lifespan: asyncio.Task | None = None

    def __enter__(self) -> Self:
        super().__enter__()
        to_app: asyncio.Queue = asyncio.Queue()
        started = asyncio.Event()
        self._from_app: list[dict] = []

        async def receive() -> dict:
            return await to_app.get()

        async def send(message: dict) -> None:
            self._from_app.append(message)
            started.set()

        async def start() -> None:
            self._to_app = to_app
            self._lifespan = asyncio.ensure_future(self._app({"type": "lifespan", "asgi": {"version": "3.0"},
                                                               "state": {}}, receive, send))
            await to_app.put({"type": "lifespan.startup"})
            waiting = asyncio.ensure_future(started.wait())
            await asyncio.wait({self._lifespan, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if not self._from_app or self._from_app[-1]["type"] != "lifespan.startup.complete":
                waiting.cancel()
                raise RuntimeError(f"the app did not start: {self._from_app[-1:] or self._lifespan.exception()}")

        with self._lock:
            self._loop.run_until_complete(start())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lifespan is not None:
            async def stop() -> None:
                await self._to_app.put({"type": "lifespan.shutdown"})
                await self._lifespan

            with self._lock:
                self._loop.run_until_complete(stop())
            self._lifespan = None
        super().__exit__(*exc)
        self._loop.close()
