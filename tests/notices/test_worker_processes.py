"""Delivery workers as real processes: one killed (kill -9) mid-delivery loses nothing, and on
PostgreSQL several at once never send one notice twice.

Each child builds its own kinko from settings, as ``kinko notify`` would, on a clock fixed at
the test's instant (passed in), and sends to the test's aiosmtpd server.
"""

from __future__ import annotations

import multiprocessing
import signal
from datetime import datetime
from typing import Any

import pytest

from kinko.bootstrap import build
from kinko.config import Settings
from kinko.domain.notices import Notice, NoticeKind, NoticeStatus
from kinko.notify import DeliveryReport, SmtpSender, run_once
from kinko.services.passwords import Argon2Hasher
from kinko.store.keyring import Keyring
from kinko.store.seedbox import SeedBox
from tests.notices.conftest import TEST_SETTINGS, SmtpServer, outbox
from tests.support import Harness

pytestmark = pytest.mark.slow

#: How long anyone waits for the others: generous for a loaded 2-core CI runner.
WAIT_SECONDS = 60


# --- the child process (module level, so that the spawn start method can import it) ---------


def worker_process(
    database_url: str,
    smtp_port: int,
    now: str,
    barrier: Any = None,  # multiprocessing.synchronize.Barrier
    results: Any = None,  # multiprocessing.Queue of (sent, retried, failed) or ("crash", text)
) -> None:
    """One ``run_once`` of a delivery worker of its own, at the instant ``now``."""
    try:
        instant = datetime.fromisoformat(now)
        kinko = build(
            Settings(database_url=database_url, **TEST_SETTINGS),
            seedbox=SeedBox(Keyring.generate()),
            hasher=Argon2Hasher.fast_for_tests(),
            clock=lambda: instant,
        )
        kinko.engine.raw_connection().close()  # connect before the race, not during it
        if barrier is not None:
            barrier.wait(timeout=WAIT_SECONDS)
        report = run_once(kinko, SmtpSender("127.0.0.1", smtp_port, timeout=WAIT_SECONDS))
        kinko.close()
    except Exception as error:
        if barrier is not None:
            barrier.abort()
        if results is not None:
            results.put(("crash", repr(error)))
        raise
    if results is not None:
        results.put((report.sent, report.retried, report.failed))


# --- the parent ------------------------------------------------------------------------------


def test_a_worker_killed_mid_delivery_loses_no_notice(
    h: Harness, smtp_server: SmtpServer, database_url: str
) -> None:
    h.enroll(h.customer())
    [queued] = outbox(h)
    mailbox = smtp_server.mailbox
    mailbox.stall = True  # the server takes the message's DATA and then hangs

    spawn = multiprocessing.get_context("spawn")
    worker = spawn.Process(target=worker_process,
                           args=(database_url, smtp_server.port, h.clock().isoformat()),
                           daemon=True)
    worker.start()
    try:
        assert mailbox.stalled.wait(WAIT_SECONDS), "the worker never reached DATA"
        worker.kill()  # kill -9, in the middle of the SMTP transaction
        worker.join(WAIT_SECONDS)
    finally:
        if worker.is_alive():
            worker.kill()
    assert worker.exitcode == -signal.SIGKILL
    [claimed] = outbox(h)
    assert (claimed.status, claimed.attempts) == (NoticeStatus.PENDING, 1)
    assert claimed.lease is not None
    assert mailbox.raw == []

    mailbox.stall = False
    mailbox.release.set()
    # A fresh worker leaves the notice alone while the dead worker's lease runs, ...
    assert run_once(h.kinko, smtp_server.sender()) == DeliveryReport()
    # ... then delivers it.
    h.clock.advance(h.kinko.settings.notice_lease_seconds)
    assert run_once(h.kinko, smtp_server.sender()) == DeliveryReport(sent=1)

    [message] = mailbox.messages
    assert message["Message-ID"] == f"<kinko-notice.{queued.message_key}@kinko.example.jp>"
    [sent] = outbox(h)
    assert (sent.status, sent.attempts) == (NoticeStatus.SENT, 2)


@pytest.mark.postgresql_only
def test_concurrent_workers_never_send_one_notice_twice(
    h: Harness, smtp_server: SmtpServer, database_url: str
) -> None:
    notices, workers = 40, 4
    with h.ctx.uow() as uow:
        for n in range(notices):
            notice = Notice(NoticeKind.SUSPENDED, h.clock(), f"{n:010d}", "123456789012")
            uow.outbox.enqueue(notice, recipient=f"c{n}@example.jp", recipient_name=f"顧客 {n}")
        uow.commit()
    smtp_server.mailbox.delay_seconds = 0.02  # so that the workers' deliveries overlap

    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(workers)
    results = spawn.Queue()
    children = [
        spawn.Process(target=worker_process,
                      args=(database_url, smtp_server.port, h.clock().isoformat(), barrier,
                            results),
                      daemon=True)
        for _ in range(workers)
    ]
    for child in children:
        child.start()
    try:
        reports = [results.get(timeout=WAIT_SECONDS) for _ in children]
    finally:
        for child in children:
            child.join(WAIT_SECONDS)
            if child.is_alive():
                child.kill()
    assert [child.exitcode for child in children] == [0] * workers, reports

    assert sum(sent for sent, _, _ in reports) == notices
    assert all((retried, failed) == (0, 0) for _, retried, failed in reports)
    assert sum(1 for sent, _, _ in reports if sent) >= 2, "the workers did not overlap"
    ids = [message["Message-ID"] for message in smtp_server.mailbox.messages]
    assert len(ids) == len(set(ids)) == notices
    assert {(q.status, q.attempts) for q in outbox(h)} == {(NoticeStatus.SENT, 1)}
