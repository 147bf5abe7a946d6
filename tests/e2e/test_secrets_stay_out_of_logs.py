"""The service as it is run (`spares serve`, uvicorn's access log on): the worker's tracking token and
the webhook secret in request paths never reach the log."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.db import unit_of_work
from app.logging import redact_path
from app.models import SwapRequest
from tests.support import factories as f
from tests.support import http
from tests.support.factories import WEBHOOK_SECRET, post_swap, swap_body
from tests.support.servers import free_port, wait_until_serving

pytestmark = pytest.mark.any_database  # the access-log filter


def test_redact_path():
    assert redact_path("/t/AbC-123_x") == "/t/***"
    assert redact_path("/t/AbC.json") == "/t/***"
    assert redact_path("/webhooks/shippo/s3cr3t?x=1") == "/webhooks/shippo/***?x=1"
    assert redact_path("/api/v1/units/7") == "/api/v1/units/7"


@pytest.mark.live_db  # a served process reads the database
def test_served_access_log_hides_tokens_and_webhook_secrets(client, keys, settings, session_factory):
    model = f.model(client, keys["admin"])
    f.unit(client, keys["warehouse"], model["id"], f.depot(client, keys["admin"])["id"])
    token = post_swap(client, keys, swap_body(model["id"])).json()["tracking_url"].rsplit("/", 1)[1]
    with unit_of_work(session_factory) as s:
        assert s.query(SwapRequest).count() == 1

    port = free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url,
           "SHIPPO_WEBHOOK_SECRETS": settings.shippo_webhook_secrets, "RUN_BACKGROUND_JOBS": "false",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    spares = str(Path(sys.executable).with_name("spares"))
    server = subprocess.Popen([spares, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/healthz")
        assert http.get(f"{base}/t/{token}").status_code == 200
        assert http.get(f"{base}/t/{token}.json").status_code == 200
        assert http.post(f"{base}/webhooks/shippo/{WEBHOOK_SECRET}", json={"event": "ping"}).status_code < 500
        assert http.post(f"{base}/webhooks/shippo/wrong-{WEBHOOK_SECRET}", json={}).status_code == 404
    finally:
        server.terminate()
        log = server.communicate(timeout=10)[0]
    assert "GET /t/*** HTTP/1.1\" 200" in log and "POST /webhooks/shippo/*** HTTP/1.1\" 404" in log
    assert token not in log and WEBHOOK_SECRET not in log
