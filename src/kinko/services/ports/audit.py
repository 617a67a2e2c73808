"""The audit trail: the writer, and the sealed chain read and verified (``services.audit``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kinko.domain.events import AuditEvent


class AuditLog(Protocol):
    def record(self, event: AuditEvent) -> None: ...

    def recent(
        self, *, limit: int = 50, contract_id: str | None = None, serial: str | None = None,
        action: str | None = None,
    ) -> Sequence[AuditEvent]: ...


@dataclass(frozen=True, kw_only=True)
class StoredAuditEvent(AuditEvent):
    """An audit event as stored: its id, its place in the chain (None until sealed) and the
    writer's MAC (see ``kinko.store.audit_chain``)."""

    id: int
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None
    mac_key_id: str | None = None
    mac_nonce: str | None = None
    mac: str | None = None


@dataclass(frozen=True)
class AuditFilter:
    """Which events to read; every given filter must match. ``action`` is one action
    (``token:suspended``) or, ending in ``:``, a family (``token:``); ``since`` is inclusive
    and ``until`` exclusive (aware datetimes)."""

    contract_id: str | None = None
    serial: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of a search, newest first; ``next_before_id`` is where the next (older) page
    starts, None on the last page."""

    events: Sequence[StoredAuditEvent]
    next_before_id: int | None


@dataclass(frozen=True, kw_only=True)
class ChainReport:
    """What a check of the chain found; ``problems`` are one line each, naming the event.
    Unsealed events are no problem (not in the chain yet) unless the sealer refuses them."""

    ok: bool
    sealed: int
    unsealed: int
    problems: Sequence[str]
    #: Where the chain ended when the check started: worth writing down outside the database.
    head_seq: int
    head_hash: str
    #: Sealed events written before MACs existed: the chain alone covers them.
    legacy: int
    #: Sealed events whose MAC key was pruned since: the chain alone covers them now.
    mac_unchecked: int


class AuditChainError(RuntimeError):
    """The stored chain is damaged so that it cannot be extended; nothing was sealed.
    ``AuditTrail.verify`` names the damage."""


class AuditTrail(Protocol):
    """The stored trail as its use cases see it. Each call is its own short read or
    transaction, never part of a unit of work (seal after a unit of work commits)."""

    def search(self, filters: AuditFilter, *, limit: int,
               before_id: int | None = None) -> AuditPage:
        """The newest ``limit`` events matching ``filters`` with an id below ``before_id``."""
        ...

    def scan(self, filters: AuditFilter, *, batch: int = 1000) -> Iterator[StoredAuditEvent]:
        """Every matching event, oldest first, read ``batch`` at a time; no connection is
        held between batches, so a slow reader blocks nobody."""
        ...

    def seal_pending(self, *, limit: int = 1000, wait: bool = False) -> int:
        """Seal up to ``limit`` pending events whose MAC holds; how many. 0 at once if
        another sealer is at work, unless ``wait``. Raises ``AuditChainError``."""
        ...

    def seal_all(self) -> int:
        """Seal every event committed so far, waiting for any other sealer; how many."""
        ...

    def verify(self, *, seal: bool = True) -> ChainReport:
        """Seal what is pending (unless ``seal`` is false), then check the whole chain."""
        ...

