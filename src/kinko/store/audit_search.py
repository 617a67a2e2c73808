"""Reading the audit trail: the one query for events that match a filter, and its rows as
``StoredAuditEvent``s. The search and the CSV export (``audit_trail``) and the unit of work's
``AuditLog.recent`` (``audit_log``) all read through it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from kinko.domain.events import Action, Channel, Outcome
from kinko.services.ports import AuditFilter, StoredAuditEvent
from kinko.store.audit_chain import EVENT_COLUMNS
from kinko.store.rows import AuditEventRow


def filtered_events(
    filters: AuditFilter, *, newest_first: bool = True, before_id: int | None = None,
    after_id: int | None = None,
) -> Select[*tuple[Any, ...]]:
    """The query for events matching ``filters``, ordered by id (the order of recording)."""
    query = select(*EVENT_COLUMNS)
    if filters.contract_id is not None:
        query = query.where(AuditEventRow.contract_id == filters.contract_id)
    if filters.serial is not None:
        query = query.where(AuditEventRow.serial == filters.serial)
    if filters.actor is not None:
        query = query.where(AuditEventRow.actor == filters.actor)
    if filters.action is not None:
        action = str(filters.action)
        query = query.where(
            AuditEventRow.action.startswith(action, autoescape=True) if action.endswith(":")
            else AuditEventRow.action == action
        )
    if filters.since is not None:
        query = query.where(AuditEventRow.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEventRow.occurred_at < filters.until)
    if before_id is not None:
        query = query.where(AuditEventRow.id < before_id)
    if after_id is not None:
        query = query.where(AuditEventRow.id > after_id)
    return query.order_by(AuditEventRow.id.desc() if newest_first else AuditEventRow.id)


def stored_event(row: Any) -> StoredAuditEvent:
    """A ``StoredAuditEvent`` from a row of ``filtered_events``."""
    return StoredAuditEvent(
        id=row.id,
        occurred_at=row.occurred_at,
        action=Action(row.action),
        outcome=Outcome(row.outcome),
        actor=row.actor,
        channel=Channel(row.channel),
        contract_id=row.contract_id,
        serial=row.serial,
        reason=row.reason,
        seq=row.seq,
        prev_hash=row.prev_hash,
        hash=row.hash,
        mac_key_id=row.mac_key_id,
        mac_nonce=row.mac_nonce,
        mac=row.mac,
    )
