"""The customer-notice outbox: written with the change, claimed by the delivery workers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from kinko.domain.notices import Notice, NoticeStatus, QueuedNotice


class Outbox(Protocol):
    """Customer notices waiting for e-mail delivery, written in the transaction of their change.

    A claim is a lease: the claimed notice is due again at ``lease_until`` unless its
    worker reports first, so a worker that dies never loses a notice (at-least-once).
    """

    def enqueue(self, notice: Notice, *, recipient: str, recipient_name: str) -> None: ...

    def claim_due(self, *, now: datetime, lease_until: datetime) -> QueuedNotice | None:
        """Take the oldest pending notice due at ``now`` for delivery until ``lease_until``
        and count the attempt; None if none is due. Concurrent claimers never get the same
        notice while its lease runs (PostgreSQL: SKIP LOCKED; SQLite: one writer)."""
        ...

    def mark_sent(self, notice_id: int, *, now: datetime) -> bool:
        """The mail server accepted it. False if it was no longer pending."""
        ...

    def mark_retry(
        self, notice_id: int, *, lease: str, next_attempt_at: datetime, error: str
    ) -> bool:
        """The attempt failed; try again at ``next_attempt_at``. False if ``lease`` is no
        longer the notice's claim (it expired and another worker took the notice)."""
        ...

    def mark_failed(self, notice_id: int, *, lease: str, now: datetime, error: str) -> bool:
        """Give up on the notice (for staff to see). False if ``lease`` is not its claim."""
        ...

    def listing(
        self, *, status: NoticeStatus | None = None, contract_id: str | None = None,
        limit: int = 50,
    ) -> Sequence[QueuedNotice]:
        """Notices, newest first, e.g. the failed ones for the staff console."""
        ...

