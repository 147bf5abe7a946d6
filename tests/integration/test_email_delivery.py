"""Messages delivered for real: through Apprise's mailto:// to an SMTP server the test runs on
127.0.0.1, read back as a mail client would (headers, the text and HTML parts), and the link in them
opens the worker's page. A channel that refuses is tried again, and the swap goes on regardless."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models import Notification, OutboxJob
from tests.support import factories as f
from tests.support.asgi_client import AppClient
from tests.support.factories import post_swap, swap_body
from tests.support.loop import run_due
from tests.support.smtp import SMTPServer, parts

LINK = re.compile(r"http://127\.0\.0\.1:8000(/t/[A-Za-z0-9_-]{20,})")


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def mailing_app(make_app, smtp):
    return make_app(notify_email_url=smtp.url("Spares Desk <spares@example.com>"),
                    support_contact="the IT desk on +44 20 7946 0000")


def test_the_worker_gets_each_message_by_email_and_its_link_works(mailing_app, client, keys, smtp, frozen_clock):
    
    with AppClient(mailing_app) as c:
        depot = f.depot(c, keys["admin"], "LON")
        model = f.model(c, keys["admin"], name="Latitude 5440")
        f.unit(c, keys["warehouse"], model["id"], depot["id"], box_contents=["charger"])
        created = post_swap(c, keys, swap_body(model["id"], return_mode="swap_at_door")).json()
        run_due(mailing_app)
        mails = smtp.to("ana@example.com")
        assert [m["Subject"] for m in mails] == [
            "We have your request: a replacement arrives Wednesday 25 November",
            "Your replacement is booked with Demo Courier: it arrives Wednesday 25 November",
        ]
        first = mails[0]
        assert first["From"] == "Spares Desk <spares@example.com>" and first["To"] == "ana@example.com"
        body = parts(first)
        assert set(body) == {"text/plain", "text/html"}
        assert "Hi Ana," in body["text/plain"] and "the IT desk on +44 20 7946 0000" in body["text/plain"]
        assert '<a href="http://127.0.0.1:8000/t/' in body["text/html"]
        (path,) = set(LINK.findall(body["text/html"]))
        assert path in body["text/plain"]  # the plain part shows the link too
        worker_page = c.get(path)
        assert worker_page.status_code == 200 and "Hi Ana," in worker_page.text
        assert path not in created["tracking_url"]  # each message carries a link of its own
        # What is kept of the message hides the link.
        with mailing_app.state.session_factory() as s:
            kept = s.scalars(select(Notification.body_text).where(Notification.kind == "received")).one()
        assert path not in kept and "/t/<link>" in kept
        run_due(mailing_app)
        assert len(smtp.to("ana@example.com")) == 2  # nothing sent twice


def test_a_refusing_mail_server_is_tried_again_and_holds_up_nothing(make_app, keys, frozen_clock):
    import socket

    
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]  # nothing listens there once the block ends
    app = make_app(notify_email_url=f"mailto://127.0.0.1:{dead_port}?from=spares@example.com&secure=no")
    with AppClient(app) as c:
        depot = f.depot(c, keys["admin"], "LON")
        model = f.model(c, keys["admin"])
        f.unit(c, keys["warehouse"], model["id"], depot["id"])
        created = post_swap(c, keys, swap_body(model["id"])).json()
        run_due(app)
        swap = c.get(f"/api/v1/swap-requests/{created['id']}", headers=keys["support"]).json()
        assert swap["status"] == "label_booked"  # the courier was booked all the same
        with app.state.session_factory() as s:
            jobs = s.scalars(select(OutboxJob).where(OutboxJob.kind == "send_notification")).all()
            assert jobs and {j.status for j in jobs} == {"pending"} and all(j.attempts == 1 for j in jobs)
            assert all("refused the message" in j.last_error for j in jobs)
        frozen_clock.set(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
        run_due(app)
        with app.state.session_factory() as s:
            assert {j.attempts for j in s.scalars(select(OutboxJob).where(OutboxJob.kind == "send_notification"))} \
                == {2}
