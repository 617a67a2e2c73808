"""The customer-notice outbox in SQL: written with the change it reports, claimed under a
lease by the delivery workers."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kinko.domain.notices import Notice, NoticeKind, NoticeStatus, QueuedNotice
from kinko.store.rows import OutboxRow
from kinko.store.sql import rowcount


def _queued(row: OutboxRow) -> QueuedNotice:
    return QueuedNotice(
        id=row.id,
        notice=Notice(NoticeKind(row.kind), row.occurred_at, row.contract_id, row.serial,
                      tuple(row.facts.splitlines()) if row.facts else ()),
        recipient=row.recipient,
        recipient_name=row.recipient_name,
        message_key=row.message_key,
        status=NoticeStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease=row.lease,
        last_error=row.last_error,
        sent_at=row.sent_at,
        failed_at=row.failed_at,
    )


class SqlOutbox:
    """The notice outbox. A claim is one UPDATE of the oldest due row: PostgreSQL skips rows
    another claimer has locked; SQLite lets one writer at a time in (BEGIN IMMEDIATE)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def enqueue(self, notice: Notice, *, recipient: str, recipient_name: str) -> None:
        self._session.execute(insert(OutboxRow).values(
            kind=notice.kind.value,
            occurred_at=notice.occurred_at,
            contract_id=notice.contract_id,
            serial=notice.serial,
            facts="\n".join(notice.facts) or None,
            recipient=recipient,
            recipient_name=recipient_name,
            message_key=secrets.token_hex(16),
            status=NoticeStatus.PENDING.value,
            attempts=0,
            next_attempt_at=notice.occurred_at,
        ))

    def claim_due(self, *, now: datetime, lease_until: datetime) -> QueuedNotice | None:
        oldest_due = (
            select(OutboxRow.id)
            .where(OutboxRow.status == NoticeStatus.PENDING.value,
                   OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(1)
            .with_for_update(skip_locked=True)  # rendered on PostgreSQL, ignored by SQLite
            .scalar_subquery()
        )
        claimed = self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == oldest_due)
            .values(attempts=OutboxRow.attempts + 1, next_attempt_at=lease_until,
                    lease=secrets.token_hex(16))
            .returning(OutboxRow.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        return None if claimed is None else self._get(claimed)

    def mark_sent(self, notice_id: int, *, now: datetime) -> bool:
        result = self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == notice_id, OutboxRow.status == NoticeStatus.PENDING.value)
            .values(status=NoticeStatus.SENT.value, sent_at=now, lease=None)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    def mark_retry(
        self, notice_id: int, *, lease: str, next_attempt_at: datetime, error: str
    ) -> bool:
        return self._settle(notice_id, lease, {"next_attempt_at": next_attempt_at,
                                               "last_error": error[:255]})

    def mark_failed(self, notice_id: int, *, lease: str, now: datetime, error: str) -> bool:
        return self._settle(notice_id, lease, {"status": NoticeStatus.FAILED.value,
                                               "failed_at": now, "last_error": error[:255]})

    def listing(
        self, *, status: NoticeStatus | None = None, contract_id: str | None = None,
        limit: int = 50,
    ) -> Sequence[QueuedNotice]:
        query = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
        if status is not None:
            query = query.where(OutboxRow.status == status.value)
        if contract_id is not None:
            query = query.where(OutboxRow.contract_id == contract_id)
        query = query.execution_options(populate_existing=True)
        return [_queued(row) for row in self._session.execute(query).scalars()]

    def _get(self, notice_id: int) -> QueuedNotice:
        row = self._session.execute(
            select(OutboxRow).where(OutboxRow.id == notice_id)
            .execution_options(populate_existing=True)
        ).scalar_one()
        return _queued(row)

    def _settle(self, notice_id: int, lease: str, values: dict[str, object]) -> bool:
        """Record an attempt's failure, only if ``lease`` still holds the notice."""
        result = self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == notice_id, OutboxRow.lease == lease,
                   OutboxRow.status == NoticeStatus.PENDING.value)
            .values(values | {"lease": None})
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1
