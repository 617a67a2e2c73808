"""The tamper-evident audit trail: seal events into a SHA-256 chain, verify, search, export.

Services only ever INSERT events (``SqlAuditLog.record``), with no hash, in their own unit of
work: an OTP check never waits for the chain. A *sealer* (``seal_pending``) later gives each
unsealed event, in id order, the next chain position ``seq`` (1, 2, 3, ...), the previous
event's hash as ``prev_hash``, and its own ``hash``; it advances the one-row
``audit_chain_head`` (``last_seq``, ``last_hash``) in the same transaction. Only sealers touch
the head row: on PostgreSQL a sealer takes it with ``SELECT ... FOR UPDATE SKIP LOCKED`` and
simply returns 0 if another sealer is at work (whatever it leaves is sealed by the next call);
SQLite serialises writers anyway. ``seq``, not ``id``, is the chain order: on PostgreSQL a
lower id can commit after a higher one has been sealed, and then simply gets a later ``seq``.

Guards: the sealer's UPDATE is ``WHERE id = :id AND seq IS NULL`` and the batch is rolled
back unless every row matched, so a sealed event is never sealed again; ``seq`` is UNIQUE;
a CHECK keeps ``seq``/``prev_hash``/``hash`` all NULL or all set. Nothing else updates or
deletes an event. (Operators should also grant the application role no DELETE and UPDATE
only on those three columns; that is a database privilege, outside the migrations.)

The hash of the event at position ``seq``::

    hash = SHA-256( bytes.fromhex(prev_hash) || canonical_encoding(seq, event) )   (hex, lowercase)

``prev_hash`` of ``seq`` 1 is ``GENESIS_HASH`` (32 zero bytes). ``canonical_encoding`` is the
UTF-8 (in fact pure ASCII) bytes of one JSON object (RFC 8259) holding ``"v": 1``, ``"seq"``,
``"id"`` and every stored field of the event, written with keys sorted, no whitespace
(separators ``,`` and ``:``), every non-ASCII character escaped as ``\\uxxxx`` (lowercase
hex, UTF-16 surrogate pairs beyond the BMP), integers as decimal numbers, a missing value as
``null`` and ``occurred_at`` in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six digits of
microseconds). This is exactly ``json.dumps(doc, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)``. For example the event id 7 at seq 3::

    {"action":"token:suspended","actor":"staff:yamada","channel":"console",
     "contract_id":"1000000001","id":7,"occurred_at":"2026-04-01T09:00:00.000000Z",
     "outcome":"success","reason":"\\u7d1b\\u5931\\u5c4a","seq":3,"serial":"123456789012","v":1}

(one line, no spaces); after ``prev_hash = GENESIS_HASH`` its hash is
``2a005d5f36f7a34e24a4e44bc1960548d7378e013b645b07941142bba6008df0``.

``verify`` walks the chain by ``seq`` in batches, recomputes every hash and names each event
that was edited, deleted or moved. ``ChainReport.head_hash`` is worth writing down outside
the database (an operations log, a ticket): a chain that was cut short *and* had its head
rewritten to match, or rewritten from some event to the end, can only be caught against such
an anchor, since SHA-256 has no key.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import Connection, Engine, Select, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from kinko.domain.events import Action, AuditEvent, Channel, Outcome
from kinko.store.rows import AuditChainHeadRow, AuditEventRow

GENESIS_HASH = "0" * 64
ENCODING_VERSION = 1

#: The stored fields an event's hash covers, besides its ``seq``. A test checks that this is
#: every column of ``audit_events`` except the chain's own ``seq``, ``prev_hash`` and ``hash``.
HASHED_FIELDS = (
    "id", "occurred_at", "action", "outcome", "actor", "channel", "contract_id", "serial",
    "reason",
)

_HEAD_ID = 1
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_EVENT_COLUMNS = (
    AuditEventRow.id, AuditEventRow.occurred_at, AuditEventRow.action, AuditEventRow.outcome,
    AuditEventRow.actor, AuditEventRow.channel, AuditEventRow.contract_id,
    AuditEventRow.serial, AuditEventRow.reason,
    AuditEventRow.seq, AuditEventRow.prev_hash, AuditEventRow.hash,
)


class AuditChainError(RuntimeError):
    """The chain cannot be extended safely; nothing was sealed."""


class ChainHeadMissing(AuditChainError):
    """Events are sealed but the head row is gone: someone deleted it. ``verify`` says so too."""


class PositionTaken(AuditChainError):
    """The next position is held by an event the sealer did not place. ``verify`` says so too."""


# --- the hash ------------------------------------------------------------------------------


def canonical_encoding(seq: int, event: Mapping[Any, Any]) -> bytes:
    """The bytes hashed for the event at chain position ``seq`` (see the module docstring).

    ``event`` maps every name of ``HASHED_FIELDS`` to the stored value (a row's mapping).
    """
    document: dict[str, object] = {"v": ENCODING_VERSION, "seq": seq}
    for name in HASHED_FIELDS:
        document[name] = _json_value(event[name])
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


def seal_pending(engine: Engine, *, limit: int = 1000, wait: bool = False) -> int:
    """Seal up to ``limit`` committed, unsealed events in id order; how many were sealed.

    Returns 0 at once, without waiting, when another sealer holds the chain head (PostgreSQL),
    unless ``wait`` is true. Cheap when there is nothing to do: call it after every unit of
    work that recorded events (after its commit: on SQLite, never from inside an open
    transaction on the same database), and from a periodic background job that catches the
    events a busy sealer left behind. Raises an ``AuditChainError`` (nothing sealed) when
    the stored chain is damaged so that it cannot be extended; callers on a request path
    should log that, not fail the request, and ``verify`` reports the damage.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    try:
        return _seal(engine, limit=limit, wait=wait)
    except IntegrityError as error:
        raise PositionTaken("the next chain position is already taken by an event the "
                            "sealer did not place") from error


_SEAL = (
    update(AuditEventRow)
    .where(AuditEventRow.id == bindparam("event_id"), AuditEventRow.seq.is_(None))
    .values(seq=bindparam("new_seq"), prev_hash=bindparam("new_prev_hash"),
            hash=bindparam("new_hash"))
)


def _seal(engine: Engine, *, limit: int, wait: bool) -> int:
    with engine.connect() as connection, connection.begin():
        head = _lock_head(connection, wait=wait)
        if head is None:
            return 0
        last_seq, last_hash = head
        pending = connection.execute(
            select(*_EVENT_COLUMNS).where(AuditEventRow.seq.is_(None))
            .order_by(AuditEventRow.id).limit(limit)
        ).all()
        seals = []
        for row in pending:
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
        if pending:
            connection.execute(
                update(AuditChainHeadRow).where(AuditChainHeadRow.id == _HEAD_ID)
                .values(last_seq=last_seq, last_hash=last_hash)
            )
        return len(pending)


def seal_all(engine: Engine, *, batch: int = 1000) -> int:
    """Seal every event committed so far, waiting for any sealer at work; how many."""
    total = 0
    while True:
        count = seal_pending(engine, limit=batch, wait=True)
        total += count
        if count < batch:
            return total


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


def verify(
    engine: Engine, *, seal: bool = True, batch: int = 1000, max_problems: int = 1000
) -> ChainReport:
    """Seal what is pending (unless ``seal`` is false), then check the whole chain.

    Streams the events by ``seq``, ``batch`` at a time, each batch in its own short read, so
    neither memory nor a lock grows with the log. Every stored field, the order and the
    completeness of the chain are checked against the hashes and the head row.
    """
    problems = _Problems(max_problems)
    if seal:
        try:
            seal_all(engine, batch=batch)
        except AuditChainError as error:
            # The cause (a deleted head, a forged position) is named by the checks below.
            problems.add(f"sealing stopped: {error}")
    head = _read_head(engine)
    walk = _Walk(problems, window=4 * batch)
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
    lines = problems.final()
    return ChainReport(
        ok=not lines, sealed=walk.sealed, unsealed=_count_unsealed(engine), problems=lines,
        head_seq=head[0], head_hash=head[1],
    )


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

    def __init__(self, problems: _Problems, *, window: int) -> None:
        self.problems = problems
        self.sealed = 0
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
    )


CSV_HEADER = (
    "id", "seq", "occurred_at", "action", "outcome", "actor", "channel", "contract_id",
    "serial", "reason", "prev_hash", "hash",
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
