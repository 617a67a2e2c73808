"""The audit trail's writer: every event is inserted with its MAC (``kinko.store.audit_chain``),
so a row never exists without it; reading the recent events of a contract or a serial."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from kinko.domain.events import AuditEvent
from kinko.services.ports import AuditFilter
from kinko.store.audit_chain import MacKeys, mac_values
from kinko.store.audit_search import filtered_events, stored_event
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
        self, *, limit: int = 50, contract_id: str | None = None, serial: str | None = None,
        action: str | None = None,
    ) -> Sequence[AuditEvent]:
        """The newest ``limit`` events, of ``contract_id``, ``serial`` or ``action`` (as
        ``AuditFilter`` reads it) if given, inside this unit of work (the audit trail's one
        query, ``audit_search.filtered_events``)."""
        query = filtered_events(AuditFilter(contract_id=contract_id, serial=serial,
                                            action=action))
        return [stored_event(row) for row in self._session.execute(query.limit(limit))]
