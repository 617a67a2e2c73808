"""Reading the trail through ``kinko.services.audit``, as the console, the API and the CLI
do: filters, paging, the CSV export read in batches."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from kinko.domain.events import Action, Actor, Channel, Outcome
from kinko.services import audit
from kinko.services.audit import AuditFilter, AuditTrail, StoredAuditEvent, csv_rows, export_csv
from tests.audit.conftest import START, EventLog


def fill(log: EventLog) -> dict[str, int]:
    """A small day at the bank: two customers, a staff member, the system; ids by name."""
    yamada, suzuki = Actor.staff("yamada"), Actor.staff("suzuki")
    names = {
        "issued": (Action.TOKEN_ISSUED, Actor("operator", Channel.CLI), None, "111111111111", 0),
        "bound": (Action.TOKEN_BOUND, Actor.customer("1000000001"), "1000000001",
                  "111111111111", 1),
        "checked": (Action.TOKEN_CODE_CHECKED, Actor.customer("1000000001"), "1000000001",
                    "111111111111", 2),
        "suspended": (Action.TOKEN_SUSPENDED, yamada, "1000000001", "111111111111", 3),
        "other": (Action.PASSWORD_UNLOCKED, suzuki, "1000000002", None, 4),
        "revoked": (Action.TOKEN_REVOKED, suzuki, "1000000001", "111111111111", 5),
    }
    ids = {}
    for name, (action, actor, contract_id, serial, hour) in names.items():
        [ids[name]] = log.record(action=action, actor=actor, contract_id=contract_id,
                                 serial=serial, reason=None, at=START + timedelta(hours=hour))
    return ids


def ids_of(page: audit.AuditPage) -> list[int]:
    return [event.id for event in page.events]


def trail(log: EventLog) -> AuditTrail:
    return log.harness.kinko.audit_trail


def search(log: EventLog, limit: int = 100, before_id: int | None = None,
           **filters: Any) -> audit.AuditPage:
    return audit.search(trail(log), AuditFilter(**filters), limit=limit, before_id=before_id)


def test_the_console_search_filters_by_contract_serial_staff_action_and_time_newest_first(
    log: EventLog,
) -> None:
    ids = fill(log)
    assert ids_of(search(log, contract_id="1000000001")) == [
        ids["revoked"], ids["suspended"], ids["checked"], ids["bound"]]
    assert ids_of(search(log, serial="111111111111", actor="staff:suzuki")) == [ids["revoked"]]
    assert ids_of(search(log, action="token:code:checked")) == [ids["checked"]]
    assert ids_of(search(log, since=START + timedelta(hours=2),
                         until=START + timedelta(hours=4))) == [
        ids["suspended"], ids["checked"]]
    assert ids_of(search(log, actor="staff:nobody")) == []
    newest = search(log, limit=1).events[0]
    assert isinstance(newest, StoredAuditEvent)
    assert (newest.action, newest.outcome, newest.actor, newest.channel, newest.seq) == (
        Action.TOKEN_REVOKED, Outcome.SUCCESS, "staff:suzuki", Channel.CONSOLE, None)


def test_an_action_ending_in_a_colon_finds_the_whole_family(log: EventLog) -> None:
    ids = fill(log)
    found = search(log, action="token:")
    assert ids_of(found) == [ids[n] for n in ("revoked", "suspended", "checked", "bound",
                                              "issued")]
    # "_" and "%" in a family name are letters, not wildcards.
    [changed] = log.record(action=Action.LOGIN_OTP_CHANGED)
    assert ids_of(search(log, action="customer:login_otp:")) == [changed]
    assert ids_of(search(log, action="customer:login%otp:")) == []
    assert ids_of(search(log, action="customer:login_otp_")) == []


def test_the_search_pages_back_in_time_until_no_next_page_is_named(log: EventLog) -> None:
    ids = fill(log)
    every = sorted(ids.values(), reverse=True)

    pages, before = [], None
    while True:
        page = search(log, limit=4, before_id=before)
        pages.append(ids_of(page))
        if page.next_before_id is None:
            break
        before = page.next_before_id

    assert pages == [every[:4], every[4:]]
    # A page that ends exactly at the oldest event names no next page either.
    assert search(log, limit=6).next_before_id is None
    assert search(log, limit=5).next_before_id == every[4]


def test_search_results_carry_their_chain_position_once_sealed(log: EventLog) -> None:
    fill(log)
    audit.seal_all(trail(log))

    newest = search(log, limit=1).events[0]

    assert newest.seq == 6 and newest.hash == log.at(6).hash
    assert newest.prev_hash == log.at(5).hash


def test_the_csv_export_has_a_header_and_every_matching_event_oldest_first(
    log: EventLog,
) -> None:
    ids = fill(log)
    trail(log).seal_pending(limit=3)  # some sealed, some not yet
    out = io.StringIO(newline="")

    written = export_csv(trail(log), AuditFilter(contract_id="1000000001"), out)

    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert written == 4
    assert rows[0] == ["id", "seq", "occurred_at", "action", "outcome", "actor", "channel",
                       "contract_id", "serial", "reason", "prev_hash", "hash",
                       "mac_key_id", "mac_nonce", "mac"]
    assert [int(row[0]) for row in rows[1:]] == [
        ids["bound"], ids["checked"], ids["suspended"], ids["revoked"]]
    bound, revoked = rows[1], rows[4]
    assert bound[1:10] == ["2", "2026-04-01T10:00:00Z", "token:bound", "success",
                           "customer:1000000001", "web", "1000000001", "111111111111", ""]
    assert bound[11] == log.at(2).hash
    assert revoked[1] == revoked[10] == revoked[11] == ""  # not sealed yet
    # The MAC is there from the start, so an exported chain can be re-hashed outside.
    assert bound[12] == revoked[12] == log.keys.current_key_id
    assert len(revoked[13]) == 32 and len(revoked[14]) == 64


def test_the_csv_export_is_read_in_batches_without_losing_or_repeating_an_event(
    log: EventLog,
) -> None:
    log.record(7)

    rows = list(csv_rows(trail(log), AuditFilter(actor="staff:yamada"), batch=3))

    assert [int(row[0]) for row in rows[1:]] == log.ids()


def test_the_csv_export_defuses_text_a_spreadsheet_would_run_as_a_formula(
    log: EventLog,
) -> None:
    log.record(reason='=HYPERLINK("http://example.invalid","x")')
    log.record(reason="その他: -5 回")
    log.record(actor=Actor("@SUM(A1)", Channel.API), reason="+81 3 1234")

    rows = list(csv_rows(trail(log)))

    assert rows[1][9] == "'=HYPERLINK(\"http://example.invalid\",\"x\")"
    assert rows[2][9] == "その他: -5 回"
    assert (rows[3][5], rows[3][9]) == ("'@SUM(A1)", "'+81 3 1234")
