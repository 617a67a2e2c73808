"""Sealing: every recorded event gets the next chain position and a hash, exactly once."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert, update

from kinko.services import transactions
from kinko.store import audit_chain
from kinko.store.audit_chain import GENESIS_HASH, HASHED_FIELDS, MAC_COLUMNS, event_hash
from kinko.store.audit_seal import PositionTaken, seal_pending
from kinko.store.audit_verify import verify
from kinko.store.db import make_engine, upgrade
from kinko.store.keyring import Keyring
from kinko.store.rows import AuditChainHeadRow, AuditEventRow
from kinko.store.seedbox import SeedBox
from tests.audit.conftest import START, EventLog
from tests.support import Harness


def row_fields(log: EventLog, event_id: int) -> dict[str, object]:
    with log.engine.connect() as connection:
        row = connection.execute(
            AuditEventRow.__table__.select().where(AuditEventRow.id == event_id)).one()
    return dict(row._mapping)


def test_sealing_gives_each_event_the_next_position_in_id_order_and_links_the_hashes(
    log: EventLog,
) -> None:
    ids = log.record(4)

    assert seal_pending(log.engine, log.keys) == 4

    events = log.stored()
    assert [(e.id, e.seq) for e in events] == list(zip(ids, [1, 2, 3, 4], strict=True))
    previous = GENESIS_HASH
    for event in events:
        assert event.seq is not None
        assert event.prev_hash == previous
        assert event.hash == event_hash(previous, event.seq, row_fields(log, event.id))
        previous = event.hash
    assert log.head() == (4, previous)
    report = verify(log.engine, log.keys, seal=False)
    assert (report.ok, report.sealed, report.unsealed, report.problems) == (True, 4, 0, [])
    assert (report.head_seq, report.head_hash) == (4, previous)


def test_sealing_again_seals_only_new_events_and_never_changes_a_sealed_one(
    log: EventLog,
) -> None:
    log.record(2)
    seal_pending(log.engine, log.keys)
    before = log.stored()

    assert seal_pending(log.engine, log.keys) == 0
    log.record(1)
    assert seal_pending(log.engine, log.keys) == 1

    after = log.stored()
    assert after[:2] == before
    assert after[2].seq == 3 and after[2].prev_hash == before[1].hash


def test_sealing_stops_at_the_limit_and_the_next_call_goes_on_from_there(log: EventLog) -> None:
    log.record(5)

    assert [seal_pending(log.engine, log.keys, limit=2) for _ in range(4)] == [2, 2, 1, 0]
    assert [e.seq for e in log.stored()] == [1, 2, 3, 4, 5]
    assert verify(log.engine, log.keys, seal=False).ok


def test_verify_first_seals_the_events_recorded_since_the_last_sealing(log: EventLog) -> None:
    log.record(3)
    unsealed = verify(log.engine, log.keys, seal=False)
    assert (unsealed.ok, unsealed.sealed, unsealed.unsealed) == (True, 0, 3)

    report = verify(log.engine, log.keys)

    assert (report.ok, report.sealed, report.unsealed, report.problems) == (True, 3, 0, [])
    assert [e.seq for e in log.stored()] == [1, 2, 3]


def test_events_written_by_the_real_services_are_sealed_into_a_valid_chain(
    harness: Harness,
) -> None:
    customer = harness.customer()
    issued = harness.enroll(customer)
    transactions.authorize(harness.ctx, customer.id, purpose="振込", code=harness.code(issued))
    report = verify(harness.kinko.engine, harness.kinko.seedbox)
    assert report.ok, report.problems
    assert report.sealed >= 5 and report.unsealed == 0


def test_an_empty_log_is_a_valid_empty_chain(clean_engine: Engine) -> None:
    report = verify(clean_engine, SeedBox(Keyring.generate()))
    assert (report.ok, report.sealed, report.unsealed, report.problems) == (True, 0, 0, [])
    assert (report.head_seq, report.head_hash) == (0, GENESIS_HASH)


def test_an_emptied_database_starts_its_chain_again_at_the_genesis_hash(log: EventLog) -> None:
    with log.engine.begin() as connection:
        connection.execute(delete(AuditChainHeadRow))
    assert log.head() is None
    log.record(1)

    assert seal_pending(log.engine, log.keys) == 1

    assert log.stored()[0].seq == 1 and log.stored()[0].prev_hash == GENESIS_HASH
    assert log.head() == (1, log.stored()[0].hash)


def test_a_sealer_with_a_stale_head_can_neither_reuse_a_position_nor_reseal_an_event(
    log: EventLog,
) -> None:
    log.record(2)
    seal_pending(log.engine, log.keys)
    sealed = log.stored()
    # As if a second sealer had read the head before the first one moved it on.
    with log.engine.begin() as connection:
        connection.execute(update(AuditChainHeadRow).values(last_seq=0, last_hash=GENESIS_HASH))
    log.record(1)

    with pytest.raises(PositionTaken):
        seal_pending(log.engine, log.keys)

    assert log.stored()[:2] == sealed
    assert log.stored()[2].seq is None  # the failed batch was rolled back as a whole


def test_the_hash_covers_every_stored_field_of_an_event() -> None:
    chain_columns = {"seq", "prev_hash", "hash"}
    assert set(HASHED_FIELDS) | set(MAC_COLUMNS) == (
        {c.name for c in AuditEventRow.__table__.columns} - chain_columns)


def test_the_chain_encoding_is_stable_as_documented() -> None:
    event = {
        "id": 7, "occurred_at": datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
        "action": "token:suspended", "outcome": "success", "actor": "staff:yamada",
        "channel": "console", "contract_id": "1000000001", "serial": "123456789012",
        "reason": "紛失届",
    }
    encoded = (
        b'{"action":"token:suspended","actor":"staff:yamada","channel":"console",'
        b'"contract_id":"1000000001","id":7,"occurred_at":"2026-04-01T09:00:00.000000Z",'
        b'"outcome":"success","reason":"\\u7d1b\\u5931\\u5c4a","seq":3,'
        b'"serial":"123456789012","v":1}'
    )
    assert audit_chain.canonical_encoding(3, event) == encoded
    expected = hashlib.sha256(bytes(32) + encoded).hexdigest()
    assert event_hash(GENESIS_HASH, 3, event) == expected
    assert expected == "2a005d5f36f7a34e24a4e44bc1960548d7378e013b645b07941142bba6008df0"
    # Every field matters, and so do the position and the predecessor.
    assert event_hash(GENESIS_HASH, 4, event) != expected
    assert event_hash("ab" * 32, 3, event) != expected
    assert event_hash(GENESIS_HASH, 3, {**event, "reason": None}) != expected


def test_events_stored_before_the_chain_existed_are_sealed_after_the_upgrade(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    with engine.begin() as connection:
        for n in range(3):
            connection.execute(insert(AuditEventRow).values(
                occurred_at=START, action="token:issued", outcome="success",
                actor="operator", channel="cli", serial=f"00000000000{n}"))
    upgrade(engine)

    report = verify(engine, SeedBox(Keyring.generate()))

    assert (report.ok, report.sealed, report.unsealed, report.legacy) == (True, 3, 0, 3)
    engine.dispose()
