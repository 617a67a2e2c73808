"""The audit trail's writer: every event is inserted with its MAC (``kinko.store.audit_chain``),
so a row never exists without it; reading recent and filtered events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kinko.domain.events import Action, AuditEvent, Channel, Outcome
from kinko.store.audit_chain import (
    AuditFilter,
    MacKeys,
    StoredAuditEvent,
    filtered_events,
    mac_values,
    stored_event,
)
from kinko.store.rows import AuditEventRow, Base

AUDIT = Base.metadata.tables[AuditEventRow.__tablename__]
#: The columns an event is inserted with (its id and chain position come later).
AUDIT_FIELDS = ("occurred_at", "action", "outcome", "actor", "channel", "contract_id",
                "serial", "reason", "mac_key_id", "mac_nonce", "mac")


def audit_values(event: AuditEvent, keys: MacKeys) -> dict[str, object]:
    """The row of ``event`` with its MAC (``kinko.store.audit_chain``), made here, by the
    writer, so that the row never exists without it."""
    values: dict[str, object] = {
        "occurred_at": event.occurred_at,
        "action": event.action.value,
        "outcome": event.outcome.value,
        "actor": event.actor,
        "channel": event.channel.value,
        "contract_id": event.contract_id,
        "serial": event.serial,
        "reason": event.reason,
    }
    return values | mac_values(keys, values)


class SqlAuditLog:
    def __init__(self, session: Session, keys: MacKeys) -> None:
        self._session = session
        self._keys = keys

    def record(self, event: AuditEvent) -> None:
        self._session.connection().execute(insert(AUDIT), audit_values(event, self._keys))

    def recent(
        self, *, limit: int = 50, contract_id: str | None = None, serial: str | None = None
    ) -> Sequence[AuditEvent]:
        query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
        if contract_id is not None:
            query = query.where(AuditEventRow.contract_id == contract_id)
        if serial is not None:
            query = query.where(AuditEventRow.serial == serial)
        return [
            AuditEvent(
                occurred_at=row.occurred_at,
                action=Action(row.action),
                outcome=Outcome(row.outcome),
                actor=row.actor,
                channel=Channel(row.channel),
                contract_id=row.contract_id,
                serial=row.serial,
                reason=row.reason,
            )
            for row in self._session.execute(query).scalars()
        ]

    def search(
        self,
        *,
        contract_id: str | None = None,
        serial: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> Sequence[StoredAuditEvent]:
        """Events matching every given filter, newest first, at most ``limit``.

        The next page is ``before_id=page[-1].id``. ``action`` ending in ``:`` matches a
        family (``token:``); ``since`` is inclusive, ``until`` exclusive. The events are
        ``StoredAuditEvent``s: domain events that also carry their id and chain position.
        """
        filters = AuditFilter(contract_id=contract_id, serial=serial, actor=actor,
                              action=action, since=since, until=until)
        query = filtered_events(filters, before_id=before_id).limit(limit)
        return [stored_event(row) for row in self._session.execute(query)]
