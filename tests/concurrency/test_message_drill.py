"""A simulated week with two real `spares worker` processes on one PostgreSQL, each with its own
scheduler, sharing a clock the test moves (a clock file): swaps are booked, the simulated courier
moves them, workers are followed up and chased, the waitlist hears every day, lingering swaps are
escalated — and every message reaches the SMTP server exactly once."""

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import clock
from app.jobs.kinds import PERIODIC, slot_of
from app.models import JobStatus, Notification, OutboxJob
from tests.support import factories as f
from tests.support.factories import post_swap, swap_body
from tests.support.service import worker_factory
from tests.support.smtp import SMTPServer

pytestmark = [pytest.mark.postgres_only, pytest.mark.live_db]
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday morning in London
STEP = timedelta(hours=6)


class SharedClock:
    def __init__(self, path: Path, at: datetime) -> None:
        self.path = path
        self.set(at)

    def set(self, at: datetime) -> None:
        self.at = at
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(at.isoformat())
        os.replace(tmp, self.path)  # the workers never read half a time


def settled(factory, at: datetime) -> bool:
    """Every periodic job of this moment ran, and nothing due is left."""
    keys = [slot_of(kind, at)[1] for kind in PERIODIC]
    with factory() as s:
        ticked = s.scalar(select(func.count()).select_from(OutboxJob).where(
            OutboxJob.dedupe_key.in_(keys), OutboxJob.status == JobStatus.DONE))
        waiting = s.scalar(select(func.count()).select_from(OutboxJob).where(
            (OutboxJob.status == JobStatus.IN_FLIGHT)
            | ((OutboxJob.status == JobStatus.PENDING) & (OutboxJob.next_attempt_at <= at))))
    return ticked == len(keys) and waiting == 0


def _stuck(factory) -> list:
    with factory() as s:
        return s.execute(select(OutboxJob.kind, OutboxJob.status, OutboxJob.last_error)
                         .where(OutboxJob.status == JobStatus.FAILED)).all()


def test_two_workers_over_a_simulated_week_send_each_message_once(client, keys, settings, tmp_path):
    shared = SharedClock(tmp_path / "clock", START)
    clock.set_clock(clock.FileClock(str(shared.path)))
    try:
        with SMTPServer() as smtp:
            _week(client, keys, settings, shared, smtp)
    finally:
        clock.set_clock(None)


def _week(client, keys, settings, shared: SharedClock, smtp: SMTPServer) -> None:
    lon = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"], name="Latitude 5440")
    for _ in range(2):
        f.unit(client, keys["warehouse"], model["id"], lon["id"], box_contents=["charger"])
    worker = {**swap_body()["worker"], "manager_email": "boss@example.com"}
    post_swap(client, keys, swap_body(model["id"], ticket="AT-DOOR", return_mode="swap_at_door"))
    post_swap(client, keys, swap_body(model["id"], ticket="BOX", return_mode="return_box", worker=worker))
    post_swap(client, keys, swap_body(model["id"], ticket="WAITS"))  # no stock left: the waitlist

    env = {**os.environ, "DATABASE_URL": settings.database_url, "LOG_LEVEL": "WARNING",
           "CLOCK_FILE": str(shared.path), "SWEEP_EVERY_SECONDS": "0.2", "OUTBOX_LEASE_SECONDS": "5",
           "NOTIFY_EMAIL_URL": smtp.url(), "NOTIFY_SUPPORT_URL": smtp.url() + "&to=support@example.com",
           "TRACKING_POLL_QUIET_SECONDS": "60", "SIM_IN_TRANSIT_AFTER_SECONDS": str(3 * 3600),
           "SIM_DELIVERED_AFTER_SECONDS": str(20 * 3600), "RETURN_DUE_BUSINESS_DAYS": "1",
           "RETURN_REMINDER_BUSINESS_DAYS": "0,1", "RETURN_ESCALATE_BUSINESS_DAYS": "2"}
    spares = str(Path(sys.executable).with_name("spares"))
    workers = [subprocess.Popen([spares, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for _ in range(2)]
    factory = worker_factory(settings)
    try:
        at = START
        while at <= START + timedelta(days=7):
            shared.set(at)
            deadline = time.monotonic() + 30
            while not settled(factory, at):
                assert time.monotonic() < deadline, f"the workers did not settle at {at}: {_stuck(factory)}"
                assert all(w.poll() is None for w in workers), "a worker died"
                time.sleep(0.1)
            if at == START + timedelta(hours=12):  # Tuesday 21:00: a request out of hours
                f.unit(client, keys["warehouse"], model["id"], lon["id"])
                post_swap(client, keys, swap_body(model["id"], ticket="LATE"))
            at += STEP
    finally:
        for w in workers:
            w.terminate()
        outputs = [w.communicate(timeout=30)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs

    with factory() as s:
        rows = s.execute(select(Notification.swap_id, Notification.kind, Notification.step, Notification.channel,
                                Notification.recipient, Notification.status, Notification.subject,
                                Notification.sent_at, Notification.held_until)).all()
    factory.kw["bind"].dispose()
    # Sent, or skipped when no longer true at its time (a daily update for a swap served meanwhile).
    assert {r.status for r in rows} <= {"sent", "skipped"}, Counter(r.status for r in rows)
    rows = [r for r in rows if r.status == "sent"]
    kinds = Counter(r.kind for r in rows)
    # The whole week's story: every step told, the waitlist daily, the follow-up, the chase, support.
    for kind in ("received", "courier_booked", "delivered", "followup", "waitlist_update", "return_reminder",
                 "return_overdue_manager", "support_alert"):
        assert kinds[kind] >= 1, kinds
    assert kinds["received"] == 4 and kinds["waitlist_update"] >= 4
    # Each message once: one per swap, kind, step and channel, whichever worker queued or sent it...
    once = Counter((r.swap_id, r.kind, r.step, r.channel) for r in rows)
    assert max(once.values()) == 1, [k for k, n in once.items() if n > 1]
    # Exactly once: the SMTP server got one mail per message sent, to its recipient, with its subject.
    delivered = Counter((rcpt, m["Subject"]) for _, rcpts, m in smtp.messages for rcpt in rcpts)
    expected = Counter((r.recipient or "support@example.com", r.subject) for r in rows)
    assert delivered == expected
    # Held by quiet hours, the late request's messages went out at 08:00 London the next morning.
    late = [r for r in rows if r.held_until is not None]
    assert late and all(r.held_until.astimezone(UTC).hour == 8 and r.sent_at >= r.held_until for r in late)
