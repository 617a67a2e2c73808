"""The ``AuditTrail`` port on SQL: the events read through one query, sealed and verified.

``kinko.bootstrap`` wires one per engine and seed box (the MAC keys) as
``Kinko.audit_trail``; ``kinko.services.audit`` is its only caller outside the store.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine

from kinko.services.ports import AuditFilter, AuditPage, ChainReport, StoredAuditEvent
from kinko.store import audit_seal, audit_verify
from kinko.store.audit_chain import MacKeys
from kinko.store.audit_search import filtered_events, stored_event


class SqlAuditTrail:
    """Each call is its own short read or transaction on ``engine``."""

    def __init__(self, engine: Engine, keys: MacKeys) -> None:
        self._engine = engine
        self._keys = keys

    def search(self, filters: AuditFilter, *, limit: int,
               before_id: int | None = None) -> AuditPage:
        # One event more than the page tells whether an older page follows.
        query = filtered_events(filters, before_id=before_id).limit(limit + 1)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        events = [stored_event(row) for row in rows[:limit]]
        more = len(rows) > limit
        return AuditPage(events, events[-1].id if more and events else None)

    def scan(self, filters: AuditFilter, *, batch: int = 1000) -> Iterator[StoredAuditEvent]:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        after_id: int | None = None
        while True:
            query = filtered_events(filters, newest_first=False, after_id=after_id).limit(batch)
            with self._engine.connect() as connection:
                rows = connection.execute(query).all()
            yield from (stored_event(row) for row in rows)
            if len(rows) < batch:
                return
            after_id = int(rows[-1].id)

    def seal_pending(self, *, limit: int = 1000, wait: bool = False) -> int:
        return audit_seal.seal_pending(self._engine, self._keys, limit=limit, wait=wait)

    def seal_all(self) -> int:
        return audit_seal.seal_all(self._engine, self._keys)

    def verify(self, *, seal: bool = True) -> ChainReport:
        return audit_verify.verify(self._engine, self._keys, seal=seal)
