"""Each event carries its writer's MAC from the INSERT on: no edit before sealing goes unseen.

Each test plays someone with write access to the database but not to the key file, changing
rows with SQL while they wait for the sealer (and after), as the security review described.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from kinko.domain.events import Action, Actor, Channel
from kinko.services import transactions
from kinko.store import audit_chain, keys
from kinko.store.audit_chain import MAC_FIELDS, MacCheck, check_mac, event_hash, mac_values
from kinko.store.audit_seal import seal_pending
from kinko.store.audit_verify import verify
from kinko.store.db import make_engine, upgrade
from kinko.store.keyring import Keyring
from kinko.store.rows import AuditChainHeadRow, AuditEventRow
from kinko.store.seedbox import SeedBox
from tests.audit.conftest import START, EventLog
from tests.support import Harness, make_harness

EDITS: dict[str, Any] = {
    "occurred_at": datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC),
    "action": "token:resumed",
    "outcome": "failure",
    "actor": "staff:mallory",
    "channel": "cli",
    "contract_id": "1000000002",
    "serial": None,
    "reason": "本人申出",
}
REFUSED_EDIT = "its MAC does not match — edited or forged before sealing; left out of the chain"


def edit_unsealed(engine: Engine, event_id: int, **values: Any) -> None:
    with engine.begin() as connection:
        result = connection.execute(
            update(AuditEventRow)
            .where(AuditEventRow.id == event_id, AuditEventRow.seq.is_(None)).values(**values))
        assert result.rowcount == 1


def insert_raw(engine: Engine, **values: Any) -> int:
    """An event written with SQL, as by someone without the key: its id."""
    row = {"occurred_at": START, "action": "token:unlocked", "outcome": "success",
           "actor": "staff:mallory", "channel": "console", "contract_id": "1000000001",
           "serial": "123456789012", "reason": None} | values
    with engine.begin() as connection:
        return int(connection.execute(
            insert(AuditEventRow).values(**row).returning(AuditEventRow.id)).scalar_one())


def seq_of(engine: Engine, event_id: int) -> int | None:
    with engine.connect() as connection:
        return connection.execute(
            select(AuditEventRow.seq).where(AuditEventRow.id == event_id)).scalar_one()


def stored_rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(
            AuditEventRow.__table__.select().order_by(AuditEventRow.id)).all())


# --- edits before sealing -------------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(EDITS))
def test_an_event_edited_before_sealing_is_refused_by_the_sealer_and_named_by_verify(
    log: EventLog, field: str,
) -> None:
    before, victim, after = log.record(3)

    edit_unsealed(log.engine, victim, **{field: EDITS[field]})

    assert seal_pending(log.engine, log.keys) == 2
    assert seq_of(log.engine, victim) is None
    assert [seq_of(log.engine, before), seq_of(log.engine, after)] == [1, 2]
    report = verify(log.engine, log.keys)
    assert report.problems == [f"event {victim} (unsealed): {REFUSED_EDIT}"]
    assert (report.ok, report.sealed, report.unsealed) == (False, 2, 1)


def test_an_edited_mac_is_refused_too(log: EventLog) -> None:
    (victim,) = log.record()
    edit_unsealed(log.engine, victim, mac="0" * 64)

    assert seal_pending(log.engine, log.keys) == 0
    assert verify(log.engine, log.keys).problems == [f"event {victim} (unsealed): {REFUSED_EDIT}"]


def test_a_refused_event_does_not_hold_up_the_honest_events_behind_it(log: EventLog) -> None:
    forged = [insert_raw(log.engine, mac_key_id=log.keys.current_key_id, mac_nonce="1" * 32,
                         mac="2" * 64) for _ in range(3)]
    honest = log.record(2)

    assert seal_pending(log.engine, log.keys, limit=2) == 2

    assert [seq_of(log.engine, i) for i in honest] == [1, 2]
    assert [seq_of(log.engine, i) for i in forged] == [None] * 3


# --- events written with SQL ----------------------------------------------------------------


def test_an_event_inserted_without_a_mac_after_macs_began_is_named_and_not_sealed(
    log: EventLog,
) -> None:
    log.record(2)
    seal_pending(log.engine, log.keys)
    forged = insert_raw(log.engine)
    later = log.record(1)

    report = verify(log.engine, log.keys)

    assert report.problems == [
        f"event {forged} (unsealed): it has no MAC but events before it have — not written by "
        "kinko; left out of the chain"]
    assert seq_of(log.engine, forged) is None and seq_of(log.engine, later[0]) == 3
    assert report.legacy == 0


def test_an_event_inserted_with_a_made_up_mac_is_named(log: EventLog) -> None:
    log.record(1)
    forged = insert_raw(log.engine, mac_key_id=log.keys.current_key_id, mac_nonce="ab" * 16,
                        mac="cd" * 32)

    report = verify(log.engine, log.keys)

    assert report.problems == [f"event {forged} (unsealed): {REFUSED_EDIT}"]


def test_an_event_whose_mac_names_a_key_never_held_is_named(log: EventLog) -> None:
    log.record(1)
    stranger = SeedBox(Keyring.generate())  # a key of its own, not in the bank's key file
    row = {"occurred_at": START, "action": "token:unlocked", "outcome": "success",
           "actor": "staff:mallory", "channel": "console", "contract_id": None,
           "serial": None, "reason": None}
    forged = insert_raw(log.engine, **row | mac_values(stranger, row))

    report = verify(log.engine, log.keys)

    assert report.problems == [
        f"event {forged} (unsealed): its MAC names a key this keyring never held — forged, or "
        "a key file from elsewhere; left out of the chain"]


def test_a_copy_of_an_event_is_named_as_one(log: EventLog) -> None:
    (original,) = log.record()
    seal_pending(log.engine, log.keys)
    row = {name: value for name, value in stored_rows(log.engine)[0]._mapping.items()
           if name not in ("id", "seq", "prev_hash", "hash")}
    copy = insert_raw(log.engine, **row)  # its MAC still fits: the MAC cannot cover the id

    report = verify(log.engine, log.keys)

    assert report.problems == [f"events {original} and {copy} carry the same MAC — one is a copy"]


def test_an_edit_with_every_later_hash_and_the_head_rewritten_is_caught_by_the_mac(
    five_sealed: EventLog,
) -> None:
    """SHA-256 has no key: rewriting from an event to the end, head included, fits the chain.
    Only the MAC, made with a key the database does not hold, still tells."""
    log = five_sealed
    rows = [dict(row._mapping) for row in stored_rows(log.engine)]
    rows[2]["reason"] = "本人申出"
    previous = rows[1]["hash"]
    with log.engine.begin() as connection:
        for row in rows[2:]:
            digest = event_hash(previous, row["seq"], row)
            connection.execute(update(AuditEventRow).where(AuditEventRow.id == row["id"])
                               .values(reason=row["reason"], prev_hash=previous, hash=digest))
            previous = digest
        connection.execute(update(AuditChainHeadRow).values(last_hash=previous))

    report = verify(log.engine, log.keys)

    assert report.problems == [
        f"event {rows[2]['id']} (seq 3): MAC mismatch — edited, and the chain rewritten to match"]


def test_removing_the_mac_of_a_sealed_event_breaks_its_hash(five_sealed: EventLog) -> None:
    victim = five_sealed.at(2)
    five_sealed.tamper(2, mac_key_id=None, mac_nonce=None, mac=None)

    assert verify(five_sealed.engine, five_sealed.keys).problems == [
        f"event {victim.id} (seq 2): hash mismatch — edited"]


# --- the writers ----------------------------------------------------------------------------


def test_the_events_of_the_services_and_of_the_one_statement_path_carry_valid_macs(
    harness: Harness,
) -> None:
    customer = harness.customer()
    issued = harness.enroll(customer)  # checks its codes: the process now knows the token
    for _ in range(3):  # the one-statement path (one INSERT ... FROM the spend on PostgreSQL)
        transactions.authorize(harness.ctx, customer.id, purpose="振込",
                               code=harness.code(issued))
        harness.next_step()

    rows = stored_rows(harness.kinko.engine)
    checked = [row for row in rows if row.action == Action.TOKEN_CODE_CHECKED.value]
    assert len(checked) >= 4
    assert {check_mac(harness.kinko.seedbox, row._mapping) for row in rows} == {MacCheck.VALID}
    assert {row.mac_key_id for row in rows} == {harness.kinko.seedbox.current_key_id}
    assert len({row.mac for row in rows}) == len(rows)  # a fresh nonce each
    assert all(row.serial == issued.token.serial for row in checked)
    report = verify(harness.kinko.engine, harness.kinko.seedbox)
    assert (report.ok, report.sealed, report.legacy) == (True, len(rows), 0), report.problems


def test_the_mac_covers_every_stored_field_but_the_id_and_the_chain() -> None:
    assert set(MAC_FIELDS) == set(audit_chain.HASHED_FIELDS) - {"id"}
    box = SeedBox(Keyring.generate())
    event = {"occurred_at": START, "action": "token:suspended", "outcome": "success",
             "actor": "staff:yamada", "channel": "console", "contract_id": "1000000001",
             "serial": "123456789012", "reason": "紛失届"}
    made = event | mac_values(box, event)
    assert check_mac(box, made) is MacCheck.VALID
    for name, value in EDITS.items():
        assert check_mac(box, made | {name: value}) is MacCheck.INVALID, name
    assert check_mac(box, made | {"mac_nonce": "0" * 32}) is MacCheck.INVALID
    assert check_mac(box, made | {"mac": "not hex"}) is MacCheck.INVALID
    assert check_mac(box, event) is MacCheck.MISSING


# --- keys: rotation and pruning -------------------------------------------------------------


@pytest.fixture
def on_key_file(clean_engine: Engine, tmp_path: Path) -> tuple[EventLog, Path]:
    """An event log whose services' seed box follows a key file, as `kinko serve` does."""
    key_file = tmp_path / "master.key"
    keyring, _ = Keyring.load_or_create(key_file)
    harness = make_harness(clean_engine, seedbox=SeedBox(keyring, key_file=key_file))
    return EventLog(harness), key_file


def test_events_written_across_a_key_rotation_all_verify(
    on_key_file: tuple[EventLog, Path],
) -> None:
    log, key_file = on_key_file
    old_key = log.keys.current_key_id
    log.record(2)
    seal_pending(log.engine, log.keys)
    log.record(1)  # unsealed when the key changes

    report = keys.rotate(log.engine, key_file)
    log.record(2)  # the running services MAC under the new key at once

    assert [row.mac_key_id for row in stored_rows(log.engine)] == [old_key] * 3 + [
        report.new_key_id] * 2
    checked = verify(log.engine, log.keys)
    assert (checked.ok, checked.sealed, checked.problems) == (True, 5, [])
    # Another process that reads the rotated key file (the CLI) verifies as well.
    fresh = verify(log.engine, SeedBox(Keyring.load(key_file), key_file=key_file))
    assert fresh.ok and fresh.mac_unchecked == 0


def test_prune_keeps_a_key_that_unsealed_events_still_need(
    on_key_file: tuple[EventLog, Path],
) -> None:
    log, key_file = on_key_file
    old_key = log.keys.current_key_id
    (victim,) = log.record()
    edit_unsealed(log.engine, victim, actor="staff:mallory")  # the sealer will refuse it
    keys.rotate(log.engine, key_file)

    assert keys.prune(log.engine, key_file) == ()

    assert old_key in Keyring.load(key_file).keys
    assert keys.audit_key_usage(log.engine) == {old_key: 1}
    # The key is still there, so the finding stays an edit, not "cannot be checked".
    assert verify(log.engine, log.keys).problems == [f"event {victim} (unsealed): {REFUSED_EDIT}"]


def test_prune_seals_first_and_then_sealed_events_are_covered_by_the_chain_alone(
    on_key_file: tuple[EventLog, Path],
) -> None:
    log, key_file = on_key_file
    old_key = log.keys.current_key_id
    log.record(3)  # not sealed: prune seals them before it decides
    rotated = keys.rotate(log.engine, key_file)

    assert keys.prune(log.engine, key_file) == (old_key,)

    pruned = Keyring.load(key_file)
    assert old_key not in pruned.keys and old_key in pruned.pruned_ids
    cli = SeedBox(pruned, key_file=key_file)  # a process started after the prune
    report = verify(log.engine, cli)
    assert (report.ok, report.sealed, report.mac_unchecked) == (True, 3, 3), report.problems
    (later,) = log.record(1)
    assert stored_rows(log.engine)[-1].mac_key_id == rotated.new_key_id
    after = verify(log.engine, cli)
    assert (after.ok, after.sealed, after.mac_unchecked) == (True, 4, 3)
    assert seq_of(log.engine, later) == 4


# --- events written before MACs ---------------------------------------------------------------


def test_events_written_before_macs_verify_and_are_counted_but_a_later_one_without_is_named(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0009")
    with engine.begin() as connection:
        for n in range(3):
            connection.execute(insert(AuditEventRow.__table__).values(
                occurred_at=START, action="token:issued", outcome="success",
                actor="operator", channel="cli", serial=f"00000000000{n}"))
    upgrade(engine)
    harness = make_harness(engine)
    log = EventLog(harness)

    first = verify(engine, log.keys)
    log.record(2, actor=Actor("staff:yamada", Channel.CONSOLE))
    forged = insert_raw(engine)
    report = verify(engine, log.keys)

    assert (first.ok, first.sealed, first.legacy) == (True, 3, 3)
    assert report.problems == [
        f"event {forged} (unsealed): it has no MAC but events before it have — not written by "
        "kinko; left out of the chain"]
    assert (report.sealed, report.legacy) == (5, 3)
    engine.dispose()
