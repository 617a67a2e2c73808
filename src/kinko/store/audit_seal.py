"""Sealing the audit trail: events whose MAC holds get their place in the SHA-256 chain.

A *sealer* (``seal_pending``) takes the unsealed events in id order and first checks each
one's MAC (``audit_chain.check_mac``). An event it cannot vouch for is *not* sealed: a MAC
that does not match (edited or forged), a MAC under a key the keyring never held, a pruned
key, or no MAC at all once MACs began (below). It stays unsealed where it is, is logged, and
``verify`` names it every time; the sealer goes on with the events behind it. (Stopping the
chain there instead would let anyone with write access halt the sealing of every later
event; leaving the row in place keeps the evidence.) A vouched-for event gets the next chain
position ``seq`` (1, 2, 3, ...), the previous event's hash as ``prev_hash``, and its own
``hash``; the one-row ``audit_chain_head`` (``last_seq``, ``last_hash``) advances in the same
transaction. Only sealers touch the head row: on PostgreSQL a sealer takes it with ``SELECT
... FOR UPDATE SKIP LOCKED`` and simply returns 0 if another sealer is at work (whatever it
leaves is sealed by the next call); SQLite serialises writers anyway. ``seq``, not ``id``,
is the chain order: on PostgreSQL a lower id can commit after a higher one has been sealed,
and then simply gets a later ``seq``. The server seals every couple of seconds and each
``kinko`` CLI command seals what it wrote before it exits.

Guards: the sealer's UPDATE is ``WHERE id = :id AND seq IS NULL`` and the batch is rolled
back unless every row matched, so a sealed event is never sealed again; ``seq`` is UNIQUE;
CHECKs keep ``seq``/``prev_hash``/``hash`` all NULL or all set, and the three MAC columns
too. Nothing else updates or deletes an event. (Operators should also grant the application
role no DELETE and UPDATE only on the three chain columns; that is a database privilege,
outside the migrations.)

A MAC-less event (written before MACs, see ``audit_chain``) is sealed only while no event
with a MAC has been sealed or met before it in id order (``sealable``); whether the chain
already holds one is the last sealed event's MAC, one primary-key read (``_macs_began``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from kinko.services.ports import AuditChainError
from kinko.store.audit_chain import (
    EVENT_COLUMNS,
    GENESIS_HASH,
    MacCheck,
    MacKeys,
    check_mac,
    event_hash,
)
from kinko.store.rows import AuditChainHeadRow, AuditEventRow

log = logging.getLogger(__name__)

#: The id of the one row of ``audit_chain_head``.
HEAD_ID = 1


class ChainHeadMissing(AuditChainError):
    """Events are sealed but the head row is gone: someone deleted it. ``verify`` says so too."""


class PositionTaken(AuditChainError):
    """The next position is held by an event the sealer did not place. ``verify`` says so too."""


def sealable(check: MacCheck, *, macs_began: bool) -> bool:
    """Whether the sealer vouches for an event whose MAC check is ``check``: a valid MAC, or
    none at all while no event with a MAC came before it (``macs_began``)."""
    return check is MacCheck.VALID or (check is MacCheck.MISSING and not macs_began)


def seal_pending(engine: Engine, keys: MacKeys, *, limit: int = 1000, wait: bool = False) -> int:
    """Seal up to ``limit`` committed, unsealed events in id order; how many were sealed.

    Each event's MAC is checked first (``keys``: the seed box): an event whose MAC fails,
    names an unknown key, or is missing after MACs began is *not* sealed — it stays where it
    is, unsealed, is logged, and is named by every ``verify``; the events after it are sealed
    as usual. Returns 0 at once, without waiting, when another sealer holds the chain head
    (PostgreSQL), unless ``wait`` is true. Cheap when there is nothing to do: call it after
    every unit of work that recorded events (after its commit: on SQLite, never from inside an
    open transaction on the same database), and from a periodic background job that catches
    the events a busy sealer left behind. Raises an ``AuditChainError`` (nothing sealed) when
    the stored chain is damaged so that it cannot be extended; callers on a request path
    should log that, not fail the request, and ``verify`` reports the damage.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    sealed = 0
    after: int | None = None
    while True:
        remaining = limit - sealed
        try:
            batch = _seal(engine, keys, limit=remaining, wait=wait, after=after)
        except IntegrityError as error:
            raise PositionTaken("the next chain position is already taken by an event the "
                                "sealer did not place") from error
        sealed += batch.sealed
        if not batch.refused or batch.looked < remaining:
            return sealed
        # A full batch with refused events in it: go on behind it in the same call, so that
        # refused rows at the front of the queue never hold up the honest events behind.
        after = batch.last_id


_SEAL = (
    update(AuditEventRow)
    .where(AuditEventRow.id == bindparam("event_id"), AuditEventRow.seq.is_(None))
    .values(seq=bindparam("new_seq"), prev_hash=bindparam("new_prev_hash"),
            hash=bindparam("new_hash"))
)


@dataclass(frozen=True)
class _Batch:
    sealed: int
    looked: int
    refused: int
    last_id: int | None


#: Events already logged as refused by this process, so the background sealer does not
#: repeat the warning every pass (``verify`` names them every time).
_REPORTED: OrderedDict[tuple[int, MacCheck], None] = OrderedDict()


def _refused(event_id: int, check: MacCheck) -> None:
    if (event_id, check) in _REPORTED:
        return
    _REPORTED[(event_id, check)] = None
    while len(_REPORTED) > 10_000:
        _REPORTED.popitem(last=False)
    log.warning("audit event %d left unsealed: %s", event_id, REFUSAL[check])


def _seal(engine: Engine, keys: MacKeys, *, limit: int, wait: bool, after: int | None) -> _Batch:
    with engine.connect() as connection, connection.begin():
        head = _lock_head(connection, wait=wait)
        if head is None:
            return _Batch(0, 0, 0, None)
        last_seq, last_hash = head
        macs_began = _macs_began(connection, last_seq)
        query = (select(*EVENT_COLUMNS).where(AuditEventRow.seq.is_(None))
                 .order_by(AuditEventRow.id).limit(limit))
        if after is not None:
            query = query.where(AuditEventRow.id > after)
        pending = connection.execute(query).all()
        seals = []
        refused = 0
        for row in pending:
            check = check_mac(keys, row._mapping)
            if not sealable(check, macs_began=macs_began):
                # Not vouched for: leave it out of the chain rather than seal a forgery.
                refused += 1
                _refused(int(row.id), check)
                continue
            macs_began = macs_began or check is MacCheck.VALID
            seq = last_seq + 1
            digest = event_hash(last_hash, seq, row._mapping)
            seals.append({"event_id": row.id, "new_seq": seq, "new_prev_hash": last_hash,
                          "new_hash": digest})
            last_seq, last_hash = seq, digest
        if seals:
            # One executemany for the batch (the driver pipelines it), not a round trip per
            # event: sealing must keep up with thousands of verifications a second.
            sealed = connection.execute(_SEAL, seals)
            if sealed.rowcount != len(seals):
                # Only a sealer holding the head updates events; leaving with an exception
                # rolls this whole batch back.
                raise AuditChainError("an event of this batch was sealed behind the chain "
                                      "head's back")
            connection.execute(
                update(AuditChainHeadRow).where(AuditChainHeadRow.id == HEAD_ID)
                .values(last_seq=last_seq, last_hash=last_hash)
            )
        return _Batch(len(seals), len(pending), refused,
                      int(pending[-1].id) if pending else None)


def _macs_began(connection: Connection, last_seq: int) -> bool:
    """Whether the chain already holds an event with a MAC. The sealer never seals a MAC-less
    event after one with a MAC, so the last sealed event tells: one primary-key read."""
    if last_seq == 0:
        return False
    mac = connection.execute(
        select(AuditEventRow.mac).where(AuditEventRow.seq == last_seq)).first()
    return mac is not None and mac.mac is not None


def seal_all(engine: Engine, keys: MacKeys, *, batch: int = 1000) -> int:
    """Seal every event committed so far, waiting for any sealer at work; how many.

    Refused events (see ``seal_pending``) stay unsealed; they do not stop the rest."""
    total = 0
    while True:
        count = seal_pending(engine, keys, limit=batch, wait=True)
        total += count
        if count < batch:
            return total


#: Why the sealer left an event out of the chain, as the log and ``verify`` say it.
REFUSAL = {
    MacCheck.INVALID: "its MAC does not match — edited or forged before sealing",
    MacCheck.PRUNED_KEY: "its MAC key was pruned from the keyring — cannot be checked",
    MacCheck.UNKNOWN_KEY: "its MAC names a key this keyring never held — forged, or a key "
                          "file from elsewhere",
    MacCheck.MISSING: "it has no MAC but events before it have — not written by kinko",
}


def _lock_head(connection: Connection, *, wait: bool) -> tuple[int, str] | None:
    """Lock the head row and return (last_seq, last_hash), or None if another sealer has it."""
    locking = (
        select(AuditChainHeadRow.last_seq, AuditChainHeadRow.last_hash)
        .where(AuditChainHeadRow.id == HEAD_ID)
        .with_for_update(skip_locked=not wait)  # SQLite: no clause; BEGIN IMMEDIATE locked
    )
    row = connection.execute(locking).first()
    if row is not None:
        return int(row.last_seq), str(row.last_hash)
    exists = select(AuditChainHeadRow.id).where(AuditChainHeadRow.id == HEAD_ID)
    if connection.execute(exists).first() is not None:
        return None  # skipped: another sealer holds it
    # No head: the migration made one, so either nothing was ever sealed (a database emptied
    # by hand, or by tests) and the chain starts here, or someone deleted it.
    if connection.execute(
        select(AuditEventRow.id).where(AuditEventRow.seq.is_not(None)).limit(1)
    ).first() is not None:
        raise ChainHeadMissing("the audit chain head is missing but events are sealed")
    insert_ = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(
        insert_(AuditChainHeadRow)
        .values(id=HEAD_ID, last_seq=0, last_hash=GENESIS_HASH)
        .on_conflict_do_nothing(index_elements=[AuditChainHeadRow.id])
    )
    row = connection.execute(locking).first()
    return None if row is None else (int(row.last_seq), str(row.last_hash))
