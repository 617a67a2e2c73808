"""Verifying the audit trail: walk the SHA-256 chain, check every hash and MAC, name what
was edited, deleted, moved, copied or forged.

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

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from kinko.services.ports import AuditChainError, ChainReport
from kinko.store.audit_chain import (
    EVENT_COLUMNS,
    GENESIS_HASH,
    MacCheck,
    MacKeys,
    check_mac,
    event_hash,
)
from kinko.store.audit_seal import HEAD_ID, REFUSAL, seal_all, sealable
from kinko.store.rows import AuditChainHeadRow, AuditEventRow


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
                select(*EVENT_COLUMNS).where(AuditEventRow.seq.is_(None),
                                              AuditEventRow.id > after)
                .order_by(AuditEventRow.id).limit(batch)
            ).all()
        for row in rows:
            check = check_mac(keys, row._mapping)
            if not sealable(check, macs_began=macs_began):
                problems.add(f"event {row.id} (unsealed): {REFUSAL[check]}; left out of "
                             "the chain")
            macs_began = macs_began or check is MacCheck.VALID
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
            .where(AuditChainHeadRow.id == HEAD_ID)
        ).first()
    return None if row is None else (int(row.last_seq), str(row.last_hash))


def _chain_batch(
    engine: Engine, *, after: int | None, up_to: int | None, batch: int
) -> Sequence[Any]:
    query = (select(*EVENT_COLUMNS).where(AuditEventRow.seq.is_not(None))
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
            select(AuditChainHeadRow.last_seq).where(AuditChainHeadRow.id == HEAD_ID)
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
