"""The tamper-evident audit trail: MAC events as they are written, seal them into a SHA-256
chain, verify, search, export.

Writing. Services only ever INSERT events (``SqlAuditLog.record``, and on PostgreSQL the
verification shortcut's one statement that spends the step and inserts its event), in their
own unit of work: an OTP check never waits for the chain. Each INSERT carries the writer's
MAC of the event, computed in Python just before the statement and bound like any value::

    mac = HMAC-SHA256( K(mac_key_id), mac_encoding(mac_nonce, event) )        (hex, lowercase)
    K(id) = HKDF-SHA256( ikm = the seed keyring's key ``id``, salt = none,
                         info = b"kinko audit mac v1", length = 32 )

``mac_key_id`` is the keyring's current key when the event is written (so ``kinko keys
rotate`` simply moves new events to the new key), ``mac_nonce`` 16 random bytes in hex.
``mac_encoding`` is the JSON document described below for the chain, holding ``"v": 1``,
``"mac_nonce"`` and every field of ``MAC_FIELDS``: every stored field but ``id`` (the
database assigns it during the INSERT) and the chain's own columns. The key never reaches
the database, so whoever can write to it can no longer edit an event (any field, or its
MAC) between the INSERT and the sealing without that showing: there is no unsealed window.

Why a MAC at write time rather than chaining on insert: chaining needs the previous hash,
i.e. one lock on the chain head held by every writer until it commits — every verification
in the bank would queue on it. A MAC needs no shared state and no extra round trip: it costs
each writer one JSON encoding and one HMAC (about 30 microseconds of CPU on a loaded 2-core
test machine, most of it the encoding), and the sealer as much again to check it.

Sealing. A *sealer* (``seal_pending``) takes the unsealed events in id order and first
checks each one's MAC (``check_mac``). An event it cannot vouch for is *not* sealed: a MAC
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

The hash of the event at position ``seq``::

    hash = SHA-256( bytes.fromhex(prev_hash) || canonical_encoding(seq, event) )   (hex, lowercase)

``prev_hash`` of ``seq`` 1 is ``GENESIS_HASH`` (32 zero bytes). ``canonical_encoding`` is the
UTF-8 (in fact pure ASCII) bytes of one JSON object (RFC 8259) holding ``"v": 1``, ``"seq"``,
``"id"`` and every stored field of the event (``HASHED_FIELDS``), written with keys sorted,
no whitespace (separators ``,`` and ``:``), every non-ASCII character escaped as ``\\uxxxx``
(lowercase hex, UTF-16 surrogate pairs beyond the BMP), integers as decimal numbers, a
missing value as ``null`` and ``occurred_at`` in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
(always six digits of microseconds). This is exactly ``json.dumps(doc, sort_keys=True,
separators=(",", ":"), ensure_ascii=True)``. An event with a MAC is encoded with ``"v": 2``
and its three MAC columns as well, so that once sealed its MAC can be neither removed nor
replaced without breaking its hash. For example the event id 7 (written before MACs) at seq
3::

    {"action":"token:suspended","actor":"staff:yamada","channel":"console",
     "contract_id":"1000000001","id":7,"occurred_at":"2026-04-01T09:00:00.000000Z",
     "outcome":"success","reason":"\\u7d1b\\u5931\\u5c4a","seq":3,"serial":"123456789012","v":1}

(one line, no spaces); after ``prev_hash = GENESIS_HASH`` its hash is
``2a005d5f36f7a34e24a4e44bc1960548d7378e013b645b07941142bba6008df0``.

Events written before MACs (migration 0010) have none. The chain is therefore a prefix of
such events followed by events with MACs, and the sealer keeps it so: a MAC-less event is
sealed only while no event with a MAC has been sealed or met before it in id order
(``_macs_began``: whether the last sealed event has a MAC, one primary-key read). Any later
MAC-less event is named as not written by kinko (raw SQL, or a server of an older version
still running after the upgrade). ``ChainReport.legacy`` counts the sealed MAC-less events.

``verify`` walks the chain by ``seq`` in batches, recomputes every hash, checks every MAC
whose key is still held, and names each event that was edited, deleted, moved or copied
(two events with one MAC: the random nonce makes that impossible but for a copy of a row,
which its MAC still fits since it cannot cover the id), then names every unsealed event the
sealer would refuse. The MAC also closes the chain's keyless gap for edits: SHA-256 has no
key, so whoever rewrites an event *and* every hash after it and the head gets a chain that
fits — but not the event's MAC. What remains keyless: events written before MACs, and
sealed events whose key ``kinko keys prune`` dropped (``ChainReport.mac_unchecked``; the key
file remembers pruned ids, so a MAC naming an id the keyring never held is a forgery, not an
"unchecked" one); and a MAC cannot show that an unsealed event was deleted, nor that the end
of the chain was cut. ``ChainReport.head_hash`` is worth writing down outside the database
(an operations log, a ticket) for those. ``kinko keys prune`` seals what is pending first and
never drops a key that an unsealed event's MAC names.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from sqlalchemy import Connection, Engine, Select, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from kinko.domain.events import Action, AuditEvent, Channel, Outcome
from kinko.store.rows import AuditChainHeadRow, AuditEventRow

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
#: ``v`` of the chain encoding of an event written before MACs (no MAC columns).
ENCODING_VERSION = 1
#: ``v`` of the chain encoding of an event that carries a MAC (the MAC columns included).
MAC_ENCODING_VERSION = 2
#: ``v`` of the document an event's MAC is computed over.
MAC_VERSION = 1

#: The stored fields every event's hash covers, besides its ``seq``.
HASHED_FIELDS = (
    "id", "occurred_at", "action", "outcome", "actor", "channel", "contract_id", "serial",
    "reason",
)
#: The writer's MAC of the event; the hash of an event that has one covers these too. A test
#: checks that ``HASHED_FIELDS`` and these are every column of ``audit_events`` except the
#: chain's own ``seq``, ``prev_hash`` and ``hash``.
MAC_COLUMNS = ("mac_key_id", "mac_nonce", "mac")
#: The fields the MAC covers besides its nonce: all of ``HASHED_FIELDS`` but ``id``, which the
#: database assigns during the INSERT and so cannot be known when the MAC is made.
MAC_FIELDS = tuple(name for name in HASHED_FIELDS if name != "id")
MAC_NONCE_BYTES = 16

_HEAD_ID = 1
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_EVENT_COLUMNS = (
    AuditEventRow.id, AuditEventRow.occurred_at, AuditEventRow.action, AuditEventRow.outcome,
    AuditEventRow.actor, AuditEventRow.channel, AuditEventRow.contract_id,
    AuditEventRow.serial, AuditEventRow.reason,
    AuditEventRow.seq, AuditEventRow.prev_hash, AuditEventRow.hash,
    AuditEventRow.mac_key_id, AuditEventRow.mac_nonce, AuditEventRow.mac,
)
_HEX_MAC = _HEX_HASH
_HEX_NONCE = re.compile(r"[0-9a-f]{32}")


class AuditChainError(RuntimeError):
    """The chain cannot be extended safely; nothing was sealed."""


class ChainHeadMissing(AuditChainError):
    """Events are sealed but the head row is gone: someone deleted it. ``verify`` says so too."""


class PositionTaken(AuditChainError):
    """The next position is held by an event the sealer did not place. ``verify`` says so too."""


class MacKeys(Protocol):
    """The keys of the events' MACs: ``kinko.store.seedbox.SeedBox`` (which derives them from
    the seed keyring). The key bytes stay inside; only key ids and tags come out."""

    def audit_mac(self, message: bytes) -> tuple[str, bytes]:
        """(key id, HMAC-SHA256 tag) of ``message`` under the current key."""
        ...

    def check_audit_mac(self, key_id: str, message: bytes, tag: bytes) -> bool | None:
        """Whether ``tag`` is right for ``message`` under ``key_id``; None for a key not held."""
        ...

    def audit_key_pruned(self, key_id: str) -> bool:
        """Whether ``key_id`` was held once and pruned (``kinko keys prune``)."""
        ...


# --- the hash ------------------------------------------------------------------------------


def canonical_encoding(seq: int, event: Mapping[Any, Any]) -> bytes:
    """The bytes hashed for the event at chain position ``seq`` (see the module docstring).

    ``event`` maps every name of ``HASHED_FIELDS`` to the stored value (a row's mapping), and
    those of ``MAC_COLUMNS`` too if it has a MAC: then the encoding is version 2 and covers
    them, so that a sealed event's MAC can be neither removed nor replaced unnoticed.
    """
    with_mac = any(event.get(name) is not None for name in MAC_COLUMNS)
    document: dict[str, object] = {
        "v": MAC_ENCODING_VERSION if with_mac else ENCODING_VERSION, "seq": seq}
    for name in HASHED_FIELDS + (MAC_COLUMNS if with_mac else ()):
        document[name] = _json_value(event[name])
    return _json_bytes(document)


def mac_encoding(nonce: str, event: Mapping[Any, Any]) -> bytes:
    """The bytes an event's MAC is computed over: ``"v": 1``, ``"mac_nonce"`` and every
    field of ``MAC_FIELDS``, encoded like the chain's documents (see the module docstring)."""
    document: dict[str, object] = {"v": MAC_VERSION, "mac_nonce": nonce}
    for name in MAC_FIELDS:
        document[name] = _json_value(event[name])
    return _json_bytes(document)


def mac_values(keys: MacKeys, event: Mapping[str, Any]) -> dict[str, str]:
    """The MAC columns for a new event whose stored fields (``MAC_FIELDS``) are ``event``:
    a fresh random nonce, the current key's id and the HMAC. The writer binds them in the
    same INSERT as the event, so no row of an event exists without its MAC."""
    nonce = secrets.token_hex(MAC_NONCE_BYTES)
    key_id, tag = keys.audit_mac(mac_encoding(nonce, event))
    return {"mac_key_id": key_id, "mac_nonce": nonce, "mac": tag.hex()}


class MacCheck(enum.Enum):
    """What an event's MAC says about it."""

    VALID = "valid"
    #: The MAC does not match the stored fields: edited, or forged without the key.
    INVALID = "invalid"
    #: The key the MAC names was pruned from the keyring: the MAC can no longer be checked.
    PRUNED_KEY = "pruned key"
    #: The key the MAC names was never in the keyring: forged, or a key file from elsewhere.
    UNKNOWN_KEY = "unknown key"
    #: No MAC at all: written before MACs existed, or inserted by someone without the key.
    MISSING = "missing"


def check_mac(keys: MacKeys, event: Mapping[Any, Any]) -> MacCheck:
    """Check the MAC columns of a stored event (a row's mapping) against its fields."""
    key_id, nonce, mac = (event.get(name) for name in MAC_COLUMNS)
    if key_id is None and nonce is None and mac is None:
        return MacCheck.MISSING
    if not (isinstance(key_id, str) and isinstance(nonce, str) and isinstance(mac, str)
            and _HEX_NONCE.fullmatch(nonce) and _HEX_MAC.fullmatch(mac)):
        return MacCheck.INVALID
    try:
        message = mac_encoding(nonce, event)
    except (TypeError, ValueError):
        return MacCheck.INVALID
    valid = keys.check_audit_mac(key_id, message, bytes.fromhex(mac))
    if valid is None:
        return MacCheck.PRUNED_KEY if keys.audit_key_pruned(key_id) else MacCheck.UNKNOWN_KEY
    return MacCheck.VALID if valid else MacCheck.INVALID


def _json_bytes(document: Mapping[str, object]) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def event_hash(prev_hash: str, seq: int, event: Mapping[Any, Any]) -> str:
    """SHA-256 of the previous hash's 32 bytes and the canonical encoding, in lowercase hex.

    Raises ``ValueError`` if ``prev_hash`` is not 64 lowercase hex digits.
    """
    if not isinstance(prev_hash, str) or not _HEX_HASH.fullmatch(prev_hash):
        raise ValueError("a chain hash is 64 lowercase hex digits")
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_encoding(seq, event)).hexdigest()


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("audit times are aware UTC datetimes")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"no canonical encoding for {type(value).__name__}")


# --- sealing -------------------------------------------------------------------------------


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
    log.warning("audit event %d left unsealed: %s", event_id, _REFUSAL[check])


def _seal(engine: Engine, keys: MacKeys, *, limit: int, wait: bool, after: int | None) -> _Batch:
    with engine.connect() as connection, connection.begin():
        head = _lock_head(connection, wait=wait)
        if head is None:
            return _Batch(0, 0, 0, None)
        last_seq, last_hash = head
        macs_began = _macs_began(connection, last_seq)
        query = (select(*_EVENT_COLUMNS).where(AuditEventRow.seq.is_(None))
                 .order_by(AuditEventRow.id).limit(limit))
        if after is not None:
            query = query.where(AuditEventRow.id > after)
        pending = connection.execute(query).all()
        seals = []
        refused = 0
        for row in pending:
            check = check_mac(keys, row._mapping)
            if check is MacCheck.VALID:
                macs_began = True
            elif check is not MacCheck.MISSING or macs_began:
                # Not vouched for: leave it out of the chain rather than seal a forgery.
                refused += 1
                _refused(int(row.id), check)
                continue
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
                update(AuditChainHeadRow).where(AuditChainHeadRow.id == _HEAD_ID)
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


_REFUSAL = {
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
        .where(AuditChainHeadRow.id == _HEAD_ID)
        .with_for_update(skip_locked=not wait)  # SQLite: no clause; BEGIN IMMEDIATE locked
    )
    row = connection.execute(locking).first()
    if row is not None:
        return int(row.last_seq), str(row.last_hash)
    exists = select(AuditChainHeadRow.id).where(AuditChainHeadRow.id == _HEAD_ID)
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
        .values(id=_HEAD_ID, last_seq=0, last_hash=GENESIS_HASH)
        .on_conflict_do_nothing(index_elements=[AuditChainHeadRow.id])
    )
    row = connection.execute(locking).first()
    return None if row is None else (int(row.last_seq), str(row.last_hash))


# --- verifying -----------------------------------------------------------------------------


@dataclass
class ChainReport:
    """What ``verify`` found. ``problems`` are one line each and name the event concerned.

    Unsealed events are no problem: they are simply not in the chain yet (``verify`` seals
    what was committed before it started, unless told not to).
    """

    ok: bool
    sealed: int
    unsealed: int
    problems: list[str] = field(default_factory=list)
    #: Where the chain ended when verification started: write it down outside the database.
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    #: Sealed events written before MACs existed: the chain alone covers them.
    legacy: int = 0
    #: Sealed events whose MAC key was pruned since: the chain alone covers them now.
    mac_unchecked: int = 0


def verify(
    engine: Engine, keys: MacKeys, *, seal: bool = True, batch: int = 1000,
    max_problems: int = 1000,
) -> ChainReport:
    """Seal what is pending (unless ``seal`` is false), then check the whole chain.

    Streams the events by ``seq``, ``batch`` at a time, each batch in its own short read, so
    neither memory nor a lock grows with the log. Every stored field, the order and the
    completeness of the chain are checked against the hashes and the head row; every MAC
    whose key is held is checked too, of sealed and unsealed events alike, and each event
    the sealer refused (see ``seal_pending``) is named.
    """
    problems = _Problems(max_problems)
    if seal:
        try:
            seal_all(engine, keys, batch=batch)
        except AuditChainError as error:
            # The cause (a deleted head, a forged position) is named by the checks below.
            problems.add(f"sealing stopped: {error}")
    head = _read_head(engine)
    walk = _Walk(problems, keys, window=4 * batch)
    after: int | None = None
    while True:
        rows = _chain_batch(engine, after=after, up_to=None if head is None else head[0],
                            batch=batch)
        for row in rows:
            walk.step(row)
        if len(rows) < batch:
            break
        after = int(rows[-1].seq)

    last = walk.last
    if head is None:
        if walk.sealed:
            problems.add(f"the chain head is missing but {walk.sealed} events are sealed"
                         " — deleted")
        head = (0, GENESIS_HASH)
    else:
        head_seq, head_hash = head
        if last is None and head_seq > 0:
            problems.add(f"head says seq {head_seq} but no event is sealed — deleted")
        elif last is not None and head_seq > last.seq:
            problems.add(f"head says seq {head_seq} but the last event is seq {last.seq}"
                         " — deleted at the end")
        elif last is not None and head_hash not in walk.last_hashes and not last.moved:
            problems.add(f"head hash does not match event {last.id} (seq {last.seq}) — the "
                         "head or the end of the chain was rewritten")
        for event_id, seq, now_head in _beyond_head(engine):
            problems.add(f"event {event_id} (seq {seq}) lies beyond the head (seq {now_head})"
                         " — not placed by the sealer")
    _check_unsealed(engine, keys, problems, macs_began=walk.macs_began, batch=batch)
    for first, second in _same_macs(engine):
        problems.add(f"events {first} and {second} carry the same MAC — one is a copy")
    lines = problems.final()
    return ChainReport(
        ok=not lines, sealed=walk.sealed, unsealed=_count_unsealed(engine), problems=lines,
        head_seq=head[0], head_hash=head[1], legacy=walk.legacy,
        mac_unchecked=walk.mac_unchecked,
    )


def _check_unsealed(
    engine: Engine, keys: MacKeys, problems: _Problems, *, macs_began: bool, batch: int
) -> None:
    """Name every unsealed event the sealer would refuse, as it would decide (id order)."""
    after = 0
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                select(*_EVENT_COLUMNS).where(AuditEventRow.seq.is_(None),
                                              AuditEventRow.id > after)
                .order_by(AuditEventRow.id).limit(batch)
            ).all()
        for row in rows:
            check = check_mac(keys, row._mapping)
            if check is MacCheck.VALID:
                macs_began = True
            elif check is not MacCheck.MISSING or macs_began:
                problems.add(f"event {row.id} (unsealed): {_REFUSAL[check]}; left out of "
                             "the chain")
        if len(rows) < batch:
            return
        after = int(rows[-1].id)


def _same_macs(engine: Engine, *, show: int = 10) -> list[tuple[int, int]]:
    """Pairs of events with one MAC: each MAC has a random nonce, so a copy of a row (which
    its MAC still fits, since the MAC cannot cover the id) is the only way to get two."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(func.min(AuditEventRow.id), func.max(AuditEventRow.id))
            .where(AuditEventRow.mac.is_not(None))
            .group_by(AuditEventRow.mac).having(func.count() > 1)
            .order_by(func.min(AuditEventRow.id)).limit(show)
        ).all()
    return [(int(first), int(second)) for first, second in rows]


@dataclass(frozen=True)
class _Seen:
    id: int
    seq: int
    moved: bool


class _Problems:
    """The report's lines, at most ``limit``; a line can be amended or withdrawn later."""

    def __init__(self, limit: int) -> None:
        self._lines: list[str | None] = []
        self._more = 0
        self._limit = limit

    def add(self, line: str) -> int | None:
        """Note a problem; its index, to amend it later, or None past the limit."""
        if len(self._lines) < self._limit:
            self._lines.append(line)
            return len(self._lines) - 1
        self._more += 1
        return None

    def amend(self, index: int | None, addition: str) -> None:
        line = None if index is None else self._lines[index]
        if index is not None and line is not None:
            self._lines[index] = line + addition

    def withdraw(self, index: int | None) -> None:
        if index is not None:
            self._lines[index] = None

    def final(self) -> list[str]:
        lines = [line for line in self._lines if line is not None]
        if self._more:
            lines.append(f"... and {self._more} more problems")
        return lines


class _Walk:
    """One walk along the chain, event by event in ``seq`` order.

    Each event is checked twice: against its own hash (which covers its fields, its id and
    its seq, so an edit or a move breaks it) and against its predecessor (its prev_hash
    must be the hash of the event at seq - 1). An event that fails both was moved; one that
    only fails the first was edited; one that only fails the second follows a predecessor
    that was moved away or rewritten. A window of recently seen hashes tells where a moved
    event used to be, so that a swap of two events is reported as exactly those two.
    """

    def __init__(self, problems: _Problems, keys: MacKeys, *, window: int) -> None:
        self.problems = problems
        self.sealed = 0
        self.legacy = 0
        self.mac_unchecked = 0
        #: Whether an event with a MAC has been met: no MAC-less event may follow one.
        self.macs_began = False
        self._keys = keys
        self.last: _Seen | None = None
        self.last_hashes: set[str] = set()
        self._window = window
        self._expected_seq = 1
        self._accepted = {GENESIS_HASH}  # what the next event's prev_hash may be
        self._recent: OrderedDict[str, _Seen] = OrderedDict()
        # Problems waiting for the event that owns a hash further on: (line, withdraw it if
        # that event turns out to be a moved one).
        self._waiting: dict[str, tuple[int | None, bool]] = {}

    def step(self, row: Any) -> None:
        event_id, seq, prev_hash, stored = int(row.id), int(row.seq), row.prev_hash, row.hash
        where = f"event {event_id} (seq {seq})"
        if seq < self._expected_seq:  # only below 1, with the CHECK constraint dropped
            self.problems.add(f"{where} lies before the start of the chain — not placed by "
                              "the sealer")
            return
        self.sealed += 1
        gap = seq > self._expected_seq
        if gap:
            first, last = self._expected_seq, seq - 1
            where_missing = f"seq {first}" if first == last else f"seq {first}–{last}"
            self.problems.add(f"{where_missing} missing — deleted")
        try:
            computed: str | None = event_hash(prev_hash, seq, row._mapping)
        except ValueError:
            computed = None
        intact = computed is not None and computed == stored
        moved = False
        if not gap and prev_hash not in self._accepted:
            chained_after = self._recent.get(prev_hash) if isinstance(prev_hash, str) else None
            if not intact:
                moved = True
                index = self.problems.add(f"{where} follows the wrong predecessor — reordered")
                self._explain(index, prev_hash, chained_after, withdraw_if_moved=False)
            elif chained_after is None or not chained_after.moved:
                before = (f"event {self.last.id} (seq {self.last.seq})" if self.last
                          else "the start of the chain")
                index = self.problems.add(f"{where} follows the wrong predecessor — "
                                          f"reordered, or {before} was rewritten")
                self._explain(index, prev_hash, chained_after, withdraw_if_moved=True)
            # else: it still follows the event that was moved away, reported there.
        elif not intact:
            self.problems.add(f"{where}: hash mismatch — edited")
        self._check_mac(row, where, intact=intact)

        seen = _Seen(event_id, seq, moved)
        hashes = {h for h in (stored, computed) if isinstance(h, str)}
        for digest in hashes & self._waiting.keys():
            index, withdraw_if_moved = self._waiting.pop(digest)
            if withdraw_if_moved and moved:
                self.problems.withdraw(index)
            else:
                self.problems.amend(index, _chained_after(seen))
        for digest in hashes:
            self._recent[digest] = seen
        while len(self._recent) > self._window:
            self._recent.popitem(last=False)
        self.last, self.last_hashes, self._accepted = seen, hashes, hashes
        self._expected_seq = seq + 1

    def _check_mac(self, row: Any, where: str, *, intact: bool) -> None:
        """The MAC closes the chain's keyless gap: whoever rewrites an event *and* every hash
        after it (and the head) still cannot make its MAC fit. An event whose own hash is
        broken was reported as edited already; one line per event is enough."""
        check = check_mac(self._keys, row._mapping)
        if check is MacCheck.MISSING:
            if not self.macs_began:
                self.legacy += 1
            elif intact:
                self.problems.add(f"{where} has no MAC but events before it have — not "
                                  "written by kinko, and the chain rewritten to match")
            return
        self.macs_began = True
        if check is MacCheck.PRUNED_KEY:
            self.mac_unchecked += 1
        elif check is MacCheck.INVALID and intact:
            self.problems.add(f"{where}: MAC mismatch — edited, and the chain rewritten to "
                              "match")
        elif check is MacCheck.UNKNOWN_KEY and intact:
            self.problems.add(f"{where}: its MAC names a key this keyring never held — "
                              "forged, and the chain rewritten to match (or a key file "
                              "from elsewhere)")

    def _explain(
        self, index: int | None, prev_hash: object, chained_after: _Seen | None, *,
        withdraw_if_moved: bool,
    ) -> None:
        if chained_after is not None:
            self.problems.amend(index, _chained_after(chained_after))
        elif isinstance(prev_hash, str) and len(self._waiting) < self._window:
            self._waiting[prev_hash] = (index, withdraw_if_moved)


def _chained_after(event: _Seen) -> str:
    return f" (it was chained after event {event.id}, now at seq {event.seq})"


def _read_head(engine: Engine) -> tuple[int, str] | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(AuditChainHeadRow.last_seq, AuditChainHeadRow.last_hash)
            .where(AuditChainHeadRow.id == _HEAD_ID)
        ).first()
    return None if row is None else (int(row.last_seq), str(row.last_hash))


def _chain_batch(
    engine: Engine, *, after: int | None, up_to: int | None, batch: int
) -> Sequence[Any]:
    query = (select(*_EVENT_COLUMNS).where(AuditEventRow.seq.is_not(None))
             .order_by(AuditEventRow.seq).limit(batch))
    if after is not None:
        query = query.where(AuditEventRow.seq > after)
    if up_to is not None:
        query = query.where(AuditEventRow.seq <= up_to)
    with engine.connect() as connection:
        return connection.execute(query).all()


def _beyond_head(engine: Engine, *, show: int = 10) -> list[tuple[int, int, int]]:
    """Events whose seq is past the head: a sealer sets both in one transaction, so the
    largest seq read *before* the head can never be past it unless someone wrote it."""
    with engine.connect() as connection:
        top = connection.execute(select(func.max(AuditEventRow.seq))).scalar()
        head = connection.execute(
            select(AuditChainHeadRow.last_seq).where(AuditChainHeadRow.id == _HEAD_ID)
        ).scalar()
        if top is None or head is None or top <= head:
            return []
        rows = connection.execute(
            select(AuditEventRow.id, AuditEventRow.seq).where(AuditEventRow.seq > head)
            .order_by(AuditEventRow.seq).limit(show)
        ).all()
    return [(int(row.id), int(row.seq), int(head)) for row in rows]


def _count_unsealed(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(
            select(func.count()).select_from(AuditEventRow).where(AuditEventRow.seq.is_(None))
        ).scalar_one())


# --- reading: the console and the CSV export ----------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StoredAuditEvent(AuditEvent):
    """An audit event as stored: the domain event plus its id and its place in the chain."""

    id: int
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None
    mac_key_id: str | None = None
    mac_nonce: str | None = None
    mac: str | None = None


@dataclass(frozen=True)
class AuditFilter:
    """What the console and the export filter on; every given filter must match.

    ``action`` is one action (``token:suspended``) or, ending in ``:``, a family
    (``token:``); ``since`` is inclusive and ``until`` exclusive (aware datetimes).
    """

    contract_id: str | None = None
    serial: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def filtered_events(
    filters: AuditFilter, *, newest_first: bool = True, before_id: int | None = None,
    after_id: int | None = None,
) -> Select[*tuple[Any, ...]]:
    """The query for events matching ``filters``, ordered by id (the order of recording)."""
    query = select(*_EVENT_COLUMNS)
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


def search(
    engine: Engine,
    *,
    contract_id: str | None = None,
    serial: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[StoredAuditEvent]:
    """``SqlAuditLog.search`` in a short read of its own: newest first, page by ``before_id``."""
    filters = AuditFilter(contract_id=contract_id, serial=serial, actor=actor, action=action,
                          since=since, until=until)
    with engine.connect() as connection:
        rows = connection.execute(filtered_events(filters, before_id=before_id).limit(limit))
        return [stored_event(row) for row in rows]


def _as_filter(filters: AuditFilter | Mapping[str, Any] | None) -> AuditFilter:
    if filters is None:
        return AuditFilter()
    if isinstance(filters, AuditFilter):
        return filters
    return AuditFilter(**filters)


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


CSV_HEADER = (
    "id", "seq", "occurred_at", "action", "outcome", "actor", "channel", "contract_id",
    "serial", "reason", "prev_hash", "hash", "mac_key_id", "mac_nonce", "mac",
)
#: A cell starting with one of these is a formula to spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_rows(
    engine: Engine, filters: AuditFilter | Mapping[str, Any] | None = None, *, batch: int = 1000
) -> Iterator[list[str]]:
    """The header, then one row per matching event, oldest first, read ``batch`` at a time.

    No connection is held between batches, so a slow reader blocks nobody. Times are ISO
    8601 in UTC; an empty cell is a missing value; a text cell that a spreadsheet would take
    for a formula is prefixed with ``'`` (no event carries a secret, so nothing is masked).
    """
    filters = _as_filter(filters)
    yield list(CSV_HEADER)
    after_id: int | None = None
    while True:
        query = filtered_events(filters, newest_first=False, after_id=after_id).limit(batch)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
        for row in rows:
            yield [_csv_cell(row._mapping[name]) for name in CSV_HEADER]
        if len(rows) < batch:
            return
        after_id = int(rows[-1].id)


def export_csv(
    engine: Engine, filters: AuditFilter | Mapping[str, Any] | None, out: TextIO
) -> int:
    """Write ``csv_rows`` to ``out`` (opened with ``newline=""``); how many events.

    ``filters`` is an ``AuditFilter`` or a mapping of its field names (``search``'s keywords).
    """
    writer = csv.writer(out)
    lines = csv_rows(engine, filters)
    writer.writerow(next(lines))
    count = 0
    for line in lines:
        writer.writerow(line)
        count += 1
    return count


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
