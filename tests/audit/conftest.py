"""Fixtures of the audit-trail tests: an event log on a real database, and ways to tamper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update

from kinko.domain.events import Action, Actor, Channel, Outcome
from kinko.services.verification import audit
from kinko.store.rows import AuditChainHeadRow, AuditEventRow
from kinko.store.seedbox import SeedBox
from tests.support import Harness

START = datetime(2026, 4, 1, 9, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    """One stored event as the tests look at it: its id, position and chain fields."""

    id: int
    seq: int | None
    prev_hash: str | None
    hash: str | None
    actor: str


class EventLog:
    """Writes events the way services do (``audit`` in a unit of work) and reads them back."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.engine: Engine = harness.kinko.engine
        #: The MAC keys (the seed box) of the services that write these events.
        self.keys: SeedBox = harness.kinko.seedbox

    def record(
        self,
        count: int = 1,
        *,
        action: Action = Action.TOKEN_SUSPENDED,
        actor: Actor | None = None,
        outcome: Outcome = Outcome.SUCCESS,
        contract_id: str | None = "1000000001",
        serial: str | None = "123456789012",
        reason: str | None = "紛失届",
        at: datetime | None = None,
    ) -> list[int]:
        """Record ``count`` events, each committed in its own unit of work; their ids."""
        for _ in range(count):
            with self.harness.ctx.uow() as uow:
                audit(uow, at or START, action, actor or Actor.staff("yamada"),
                      outcome=outcome, contract_id=contract_id, serial=serial, reason=reason)
                uow.commit()
        return self.ids()[-count:]

    def ids(self) -> list[int]:
        with self.engine.connect() as connection:
            return list(connection.execute(
                select(AuditEventRow.id).order_by(AuditEventRow.id)).scalars())

    def stored(self) -> list[Stored]:
        """Every event, in chain order (unsealed ones last, by id)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(AuditEventRow.id, AuditEventRow.seq, AuditEventRow.prev_hash,
                       AuditEventRow.hash, AuditEventRow.actor)
                .order_by(AuditEventRow.seq.is_(None), AuditEventRow.seq, AuditEventRow.id)
            ).all()
        return [Stored(r.id, r.seq, r.prev_hash, r.hash, r.actor) for r in rows]

    def at(self, seq: int) -> Stored:
        return next(event for event in self.stored() if event.seq == seq)

    def head(self) -> tuple[int, str] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(AuditChainHeadRow.last_seq, AuditChainHeadRow.last_hash)).first()
        return None if row is None else (row.last_seq, row.last_hash)

    # --- tampering, as someone with write access to the database would ------------------

    def tamper(self, position: int, /, **values: Any) -> None:
        """Change the sealed event at chain position ``position``."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(AuditEventRow).where(AuditEventRow.seq == position).values(**values))
            assert result.rowcount == 1

    def delete(self, *seqs: int) -> None:
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(AuditEventRow).where(AuditEventRow.seq.in_(seqs)))
            assert result.rowcount == len(seqs)

    def swap_positions(self, first: int, second: int) -> None:
        """Exchange two events' places in the chain (their seq), each keeping its hashes."""
        parked = 1_000_000_000
        with self.engine.begin() as connection:
            for old, new in ((first, parked), (second, first), (parked, second)):
                connection.execute(update(AuditEventRow).where(AuditEventRow.seq == old)
                                   .values(seq=new))


@pytest.fixture
def log(harness: Harness) -> EventLog:
    return EventLog(harness)


@pytest.fixture
def five_sealed(log: EventLog) -> Iterator[EventLog]:
    """Five events by different actors at different times, sealed as seq 1..5."""
    from kinko.store.audit_seal import seal_pending

    for n in range(5):
        log.record(actor=Actor(f"staff:s{n}", Channel.CONSOLE), at=START + timedelta(minutes=n))
    assert seal_pending(log.engine, log.keys) == 5
    yield log
