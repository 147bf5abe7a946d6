"""`GET /metrics`: parsed with prometheus_client's own parser, on a known state of the database, and
shared across two real server processes in multiprocess mode."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import factories as f
from tests.support import http
from tests.support.asgi_client import AppClient
from tests.support.factories import post_swap, swap_body
from tests.support.loop import run_due
from tests.support.servers import free_port, wait_until_serving
from tests.support.webhook_receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def requests_to(samples, route, status="200") -> float:
    return samples.get(("spares_http_requests_total", (("method", "GET"), ("route", route), ("status", status))), 0)


def test_metrics_report_requests_jobs_deliveries_and_stock(client, keys, app, frozen_clock):
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin, sku="LAT-5440")
    assert client.put(f"/api/v1/depots/{lon['id']}/par-levels/{model['id']}", json={"min_ready": 3},
                      headers=admin).status_code == 200
    for _ in range(3):
        f.unit(client, keys["warehouse"], model["id"], lon["id"])
    with Receiver() as hook:
        hook.answer(500)
        client.post("/api/v1/webhook-endpoints", json={"url": hook.url, "event_types": ["swap.received"]}, headers=admin)
        swap = post_swap(client, keys, swap_body(model["id"])).json()  # one ready unit less: 2 of 3
        before = scrape(client)
        for _ in range(3):
            client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"])
        client.get("/api/v1/swap-requests/999999", headers=keys["support"])
        frozen_clock.advance(seconds=90)
        after = scrape(client)
        route = "/api/v1/swap-requests/{swap_id}"
        assert requests_to(after, route) - requests_to(before, route) == 3  # the template, never the id
        assert requests_to(after, route, "404") - requests_to(before, route, "404") == 1
        latency = ("spares_http_request_duration_seconds_count", (("method", "GET"), ("route", route)))
        assert after[latency] - before.get(latency, 0) == 4
        assert after[("spares_outbox_jobs", (("kind", "book_swap"), ("status", "pending")))] == 1
        assert after[("spares_outbox_jobs", (("kind", "deliver_webhook"), ("status", "pending")))] == 1
        assert after[("spares_outbox_oldest_due_seconds", ())] == 90
        assert after[("spares_stock_ready", (("depot", "LON"), ("model", "LAT-5440")))] == 2
        assert after[("spares_stock_par_level", (("depot", "LON"), ("model", "LAT-5440")))] == 3
        assert after[("spares_stock_below_par", ())] == 1
        run_due(app)
        done = scrape(client)
    assert done[("spares_webhook_deliveries", (("endpoint_id", "1"), ("status", "pending")))] == 1  # the 500: again later
    assert done[("spares_outbox_oldest_due_seconds", ())] == 0
    assert ("spares_outbox_jobs", (("kind", "book_swap"), ("status", "pending"))) not in done


def test_a_metrics_token_is_required_when_set(make_app, keys):
    with AppClient(make_app(metrics_token="scrape-me-please")) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"}).status_code == 200




@pytest.mark.live_db
def test_two_server_processes_share_their_request_counts(database_url, tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "PROMETHEUS_MULTIPROC_DIR": str(folder),
           "SHIPPO_API_KEY": "", "RUN_BACKGROUND_JOBS": "false"}
    ports = [free_port(), free_port()]
    servers = [subprocess.Popen([sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1", "--port",
                                 str(p), "--log-level", "warning"], cwd=ROOT, env=env) for p in ports]
    try:
        for port in ports:
            wait_until_serving(f"http://127.0.0.1:{port}/healthz")
        for port, n in zip(ports, (3, 2), strict=True):
            for _ in range(n):
                assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        for port in ports:  # either process reports both processes' requests
            text = http.get(f"http://127.0.0.1:{port}/metrics").text
            samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                       for family in text_string_to_metric_families(text) for s in family.samples}
            assert requests_to(samples, "/healthz") == 5 + 2  # and the two readiness polls above
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
