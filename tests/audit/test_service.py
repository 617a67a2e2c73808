"""``kinko.services.audit`` on the trail ``kinko.bootstrap`` wires: sealing, verifying, and the
one query behind the search, the export and the unit of work's recent events."""

from __future__ import annotations

import pytest

from kinko.domain.events import Action, Actor
from kinko.services import audit
from kinko.services.audit import AuditFilter, AuditTrail
from tests.audit.conftest import EventLog
from tests.audit.test_event_macs import REFUSED_EDIT, edit_unsealed


@pytest.fixture
def trail(log: EventLog) -> AuditTrail:
    return log.harness.kinko.audit_trail


def test_the_services_seal_what_services_wrote_and_verify_finds_the_chain_whole(
    log: EventLog, trail: AuditTrail,
) -> None:
    log.record(3)

    assert audit.seal_pending(trail) == 3
    log.record(2)
    assert audit.seal_all(trail) == 2

    report = audit.verify(trail)
    assert report.ok and report.problems == []
    assert (report.sealed, report.unsealed, report.head_seq) == (5, 0, 5)
    assert report.head_hash == log.at(5).hash


def test_verify_names_an_event_edited_after_it_was_sealed(
    log: EventLog, trail: AuditTrail,
) -> None:
    log.record(3)
    audit.seal_all(trail)
    victim = log.at(2)

    log.tamper(2, reason="盗難届")  # someone with write access to the table rewrites it
    report = audit.verify(trail)

    assert not report.ok
    assert report.problems == [f"event {victim.id} (seq 2): hash mismatch — edited"]


def test_verify_names_an_event_edited_before_it_was_sealed_and_leaves_it_out(
    log: EventLog, trail: AuditTrail,
) -> None:
    [victim] = log.record(actor=Actor.staff("yamada"))
    edit_unsealed(log.engine, victim, actor="staff:suzuki")

    report = audit.verify(trail)

    assert not report.ok and report.sealed == 0 and report.unsealed == 1
    assert report.problems == [f"event {victim} (unsealed): {REFUSED_EDIT}"]


def test_verify_without_sealing_checks_only_what_is_sealed(
    log: EventLog, trail: AuditTrail,
) -> None:
    log.record(2)

    report = audit.verify(trail, seal=False)

    assert report.ok and (report.sealed, report.unsealed) == (0, 2)


def test_the_unit_of_works_recent_events_come_from_the_same_query_as_the_search(
    log: EventLog, trail: AuditTrail,
) -> None:
    log.record(2, contract_id="1000000001", serial="111111111111")
    log.record(action=Action.TOKEN_RESUMED, contract_id="1000000002", serial="222222222222")
    log.record(contract_id="1000000001", serial="333333333333")

    for filters in ({"contract_id": "1000000001"}, {"serial": "111111111111"}, {}):
        with log.harness.ctx.uow() as uow:
            recent = uow.audit.recent(limit=3, **filters)
        found = audit.search(trail, AuditFilter(**filters), limit=3).events
        assert list(recent) == list(found)


@pytest.mark.parametrize("limit", [0, audit.MAX_PAGE + 1])
def test_a_page_holds_1_to_max_page_events(trail: AuditTrail, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        audit.search(trail, limit=limit)


def test_an_empty_trail_searches_exports_and_verifies(trail: AuditTrail) -> None:
    page = audit.search(trail)

    assert (list(page.events), page.next_before_id) == ([], None)
    assert list(audit.csv_rows(trail)) == [list(audit.CSV_HEADER)]
    assert audit.verify(trail).ok
