"""Tampering with stored events: each edit, deletion or reordering is named by ``verify``.

Each test plays someone with write access to the database, changing sealed rows with SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, insert, update

from kinko.domain.events import Actor, Channel
from kinko.store.audit_seal import ChainHeadMissing, PositionTaken, seal_pending
from kinko.store.audit_verify import verify
from kinko.store.rows import AuditChainHeadRow, AuditEventRow
from tests.audit.conftest import EventLog

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


def problems(log: EventLog, **options: Any) -> list[str]:
    report = verify(log.engine, log.keys, **options)
    assert report.ok is (not report.problems)
    return report.problems


def test_an_untouched_chain_has_no_problems(five_sealed: EventLog) -> None:
    assert problems(five_sealed) == []


@pytest.mark.parametrize("field", sorted(EDITS))
def test_editing_any_field_of_a_sealed_event_is_reported_as_an_edit_of_that_event(
    five_sealed: EventLog, field: str,
) -> None:
    log = five_sealed
    victim = log.at(3)

    log.tamper(3, **{field: EDITS[field]})

    assert problems(log) == [f"event {victim.id} (seq 3): hash mismatch — edited"]


def test_a_microsecond_earlier_is_an_edit_too(five_sealed: EventLog) -> None:
    log = five_sealed
    victim = log.at(2)
    log.tamper(2, occurred_at=datetime(2026, 4, 1, 9, 0, 59, 999999, tzinfo=UTC))

    assert problems(log) == [f"event {victim.id} (seq 2): hash mismatch — edited"]


@pytest.mark.parametrize("field", ["hash", "prev_hash"])
def test_editing_the_chain_fields_of_an_event_names_that_event(
    five_sealed: EventLog, field: str,
) -> None:
    log = five_sealed
    victim = log.at(3)

    log.tamper(3, **{field: "f" * 64})

    found = problems(log)
    assert len(found) == 1
    assert found[0].startswith(f"event {victim.id} (seq 3)")


def test_an_edit_whose_hash_was_recomputed_is_caught_where_the_chain_no_longer_fits(
    five_sealed: EventLog,
) -> None:
    from kinko.store.audit_chain import event_hash

    log = five_sealed
    edited, next_one = log.at(3), log.at(4)
    with log.engine.connect() as connection:
        row = dict(connection.execute(
            AuditEventRow.__table__.select().where(AuditEventRow.seq == 3)).one()._mapping)
    row["actor"] = "staff:mallory"
    assert edited.prev_hash is not None
    log.tamper(3, actor="staff:mallory", hash=event_hash(edited.prev_hash, 3, row))

    assert problems(log) == [
        f"event {edited.id} (seq 3): MAC mismatch — edited, and the chain rewritten to match",
        f"event {next_one.id} (seq 4) follows the wrong predecessor — reordered, "
        f"or event {edited.id} (seq 3) was rewritten",
    ]


def test_deleting_an_event_in_the_middle_is_reported_as_a_missing_position(
    five_sealed: EventLog,
) -> None:
    five_sealed.delete(3)

    assert problems(five_sealed) == ["seq 3 missing — deleted"]


def test_deleting_several_events_in_a_row_is_reported_as_one_missing_range(
    five_sealed: EventLog,
) -> None:
    five_sealed.delete(2, 3, 4)

    assert problems(five_sealed) == ["seq 2–4 missing — deleted"]


def test_deleting_the_first_event_is_reported(five_sealed: EventLog) -> None:
    five_sealed.delete(1)

    assert problems(five_sealed) == ["seq 1 missing — deleted"]


def test_deleting_the_last_event_is_reported_against_the_head(five_sealed: EventLog) -> None:
    five_sealed.delete(5)

    assert problems(five_sealed) == [
        "head says seq 5 but the last event is seq 4 — deleted at the end"
    ]


def test_deleting_every_event_is_reported_against_the_head(five_sealed: EventLog) -> None:
    five_sealed.delete(1, 2, 3, 4, 5)

    assert problems(five_sealed) == ["head says seq 5 but no event is sealed — deleted"]


def test_deleting_the_head_is_reported_and_the_sealer_refuses_to_start_a_new_chain(
    five_sealed: EventLog,
) -> None:
    log = five_sealed
    with log.engine.begin() as connection:
        connection.execute(delete(AuditChainHeadRow))
    log.record(1)

    with pytest.raises(ChainHeadMissing):
        seal_pending(log.engine, log.keys)
    report = verify(log.engine, log.keys)
    assert report.problems == [
        "sealing stopped: the audit chain head is missing but events are sealed",
        "the chain head is missing but 5 events are sealed — deleted",
    ]
    assert report.unsealed == 1


def test_swapping_the_positions_of_two_events_is_reported_as_reordering_both(
    five_sealed: EventLog,
) -> None:
    log = five_sealed
    second, third, first = log.at(2), log.at(3), log.at(1)

    log.swap_positions(2, 3)

    assert problems(log) == [
        f"event {third.id} (seq 2) follows the wrong predecessor — reordered "
        f"(it was chained after event {second.id}, now at seq 3)",
        f"event {second.id} (seq 3) follows the wrong predecessor — reordered "
        f"(it was chained after event {first.id}, now at seq 1)",
    ]


def test_swapping_two_events_further_apart_names_just_those_two(
    five_sealed: EventLog,
) -> None:
    log = five_sealed
    first, second, fourth = log.at(1), log.at(2), log.at(4)

    log.swap_positions(2, 4)

    assert problems(log) == [
        f"event {fourth.id} (seq 2) follows the wrong predecessor — reordered "
        f"(it was chained after event {log.at(3).id}, now at seq 3)",
        f"event {second.id} (seq 4) follows the wrong predecessor — reordered "
        f"(it was chained after event {first.id}, now at seq 1)",
    ]


def test_moving_the_first_event_to_the_end_is_reported_as_reordering(
    five_sealed: EventLog,
) -> None:
    log = five_sealed
    first = log.at(1)
    with log.engine.begin() as connection:
        connection.execute(update(AuditEventRow).where(AuditEventRow.seq == 1).values(seq=6))
        connection.execute(update(AuditChainHeadRow).values(last_seq=6))

    found = problems(log)

    assert found[0] == "seq 1 missing — deleted"
    assert found[1] == f"event {first.id} (seq 6) follows the wrong predecessor — reordered"
    assert len(found) == 2


def test_swapping_the_contents_of_two_events_is_reported_as_edits_of_both(
    five_sealed: EventLog,
) -> None:
    log = five_sealed
    second, fourth = log.at(2), log.at(4)
    columns = ["occurred_at", "action", "outcome", "actor", "channel", "contract_id",
               "serial", "reason"]
    with log.engine.connect() as connection:
        contents = {
            seq: dict(connection.execute(
                AuditEventRow.__table__.select().where(AuditEventRow.seq == seq)
            ).one()._mapping)
            for seq in (2, 4)
        }
    log.tamper(2, **{c: contents[4][c] for c in columns})
    log.tamper(4, **{c: contents[2][c] for c in columns})

    assert problems(log) == [
        f"event {second.id} (seq 2): hash mismatch — edited",
        f"event {fourth.id} (seq 4): hash mismatch — edited",
    ]


def test_an_event_written_past_the_head_is_reported_as_not_placed_by_the_sealer(
    five_sealed: EventLog,
) -> None:
    log = five_sealed
    last_hash = log.at(5).hash
    with log.engine.begin() as connection:
        forged = connection.execute(insert(AuditEventRow).values(
            occurred_at=datetime(2026, 4, 2, tzinfo=UTC), action="token:resumed",
            outcome="success", actor="staff:mallory", channel="console",
            seq=6, prev_hash=last_hash, hash="0" * 64,
        ).returning(AuditEventRow.id)).scalar_one()

    assert problems(log, seal=False) == [
        f"event {forged} (seq 6) lies beyond the head (seq 5) — not placed by the sealer"
    ]
    # The sealer cannot place new events after it, and says why.
    log.record(1)
    with pytest.raises(PositionTaken):
        seal_pending(log.engine, log.keys)
    assert problems(log) == [
        "sealing stopped: the next chain position is already taken by an event the sealer "
        "did not place",
        f"event {forged} (seq 6) lies beyond the head (seq 5) — not placed by the sealer",
    ]


def test_cutting_the_head_back_to_hide_the_newest_events_is_reported(
    five_sealed: EventLog,
) -> None:
    log = five_sealed
    third, fourth, fifth = log.at(3), log.at(4), log.at(5)
    with log.engine.begin() as connection:
        connection.execute(update(AuditChainHeadRow).values(last_seq=3, last_hash=third.hash))

    assert problems(log, seal=False) == [
        f"event {fourth.id} (seq 4) lies beyond the head (seq 3) — not placed by the sealer",
        f"event {fifth.id} (seq 5) lies beyond the head (seq 3) — not placed by the sealer",
    ]


def test_rewriting_the_head_hash_is_reported(five_sealed: EventLog) -> None:
    log = five_sealed
    with log.engine.begin() as connection:
        connection.execute(update(AuditChainHeadRow).values(last_hash="e" * 64))

    assert problems(log, seal=False) == [
        f"head hash does not match event {log.at(5).id} (seq 5) — the head or the end of "
        "the chain was rewritten"
    ]


def test_unsealing_and_editing_an_event_leaves_its_position_empty_and_it_is_not_resealed(
    five_sealed: EventLog,
) -> None:
    log = five_sealed
    victim = log.at(3)
    log.tamper(3, seq=None, prev_hash=None, hash=None, actor="staff:mallory")

    assert problems(log) == [
        "seq 3 missing — deleted",
        f"event {victim.id} (unsealed): its MAC does not match — edited or forged before "
        "sealing; left out of the chain",
    ]
    assert [e.seq for e in log.stored() if e.id == victim.id] == [None]


def test_problems_are_found_and_named_across_the_batches_of_a_long_chain(log: EventLog) -> None:
    for n in range(23):
        log.record(actor=Actor(f"staff:s{n}", Channel.CONSOLE))
    seal_pending(log.engine, log.keys, limit=10)
    seal_pending(log.engine, log.keys, limit=10)
    seal_pending(log.engine, log.keys, limit=10)
    edited = log.at(7)
    log.tamper(7, reason="その他")
    log.delete(14)
    log.delete(23)

    report = verify(log.engine, log.keys, batch=5)

    assert report.problems == [
        f"event {edited.id} (seq 7): hash mismatch — edited",
        "seq 14 missing — deleted",
        "head says seq 23 but the last event is seq 22 — deleted at the end",
    ]
    assert (report.ok, report.sealed, report.unsealed) == (False, 21, 0)


def test_a_flood_of_problems_is_cut_short_but_still_counted(five_sealed: EventLog) -> None:
    log = five_sealed
    for seq in range(1, 6):
        log.tamper(seq, reason="x")

    report = verify(log.engine, log.keys, max_problems=2)

    assert report.problems[2:] == ["... and 3 more problems"]
    assert len(report.problems) == 3 and not report.ok
