"""``kinko audit``: check the tamper-evident chain of audit events, list recent events
(both through ``kinko.services.audit``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kinko.cli.common import EXIT_ERROR, add, open_kinko, positive
from kinko.config import Settings
from kinko.services import audit

if TYPE_CHECKING:
    from kinko.cli.common import Commands
    from kinko.services.ports import StoredAuditEvent


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    kinko = open_kinko(settings)
    report = audit.verify(kinko.audit_trail)
    for problem in report.problems:
        print(f"PROBLEM  {problem}")
    state = "OK" if report.ok else "TAMPERED"
    print(f"audit chain {state}: {report.sealed} events sealed, {report.unsealed} pending; "
          f"head seq {report.head_seq} hash {report.head_hash}")
    if report.legacy or report.mac_unchecked:
        print(f"covered by the chain alone: {report.legacy} events written before MACs, "
              f"{report.mac_unchecked} under pruned MAC keys")
    return 0 if report.ok else EXIT_ERROR


def cmd_audit_list(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.domain.serials import parse_contract_id, parse_serial

    kinko = open_kinko(settings)
    filters = audit.AuditFilter(
        contract_id=parse_contract_id(args.contract) if args.contract else None,
        serial=parse_serial(args.serial) if args.serial else None)
    # Newest first, a page at a time (``--limit`` may exceed a page); printed oldest first.
    events: list[StoredAuditEvent] = []
    before_id: int | None = None
    while len(events) < args.limit:
        page = audit.search(kinko.audit_trail, filters, before_id=before_id,
                            limit=min(audit.MAX_PAGE, args.limit - len(events)))
        events.extend(page.events)
        if page.next_before_id is None:
            break
        before_id = page.next_before_id
    for e in reversed(events):
        print(f"{e.occurred_at:%Y-%m-%d %H:%M:%S}  {e.action:<38} {e.outcome:<7}  "
              f"{e.actor:<22} {e.channel:<7}  {e.contract_id or '-':<10}  "
              f"{e.serial or '-':<12}  {e.reason or ''}")
    return 0


def register_audit(commands: Commands) -> None:
    audit_ = commands.add_parser("audit", help="the audit trail").add_subparsers(
        required=True, metavar="ACTION")
    add(audit_, "verify", cmd_audit_verify,
        "seal pending events and check the SHA-256 chain (exit 1 if tampered)")
    a_list = add(audit_, "list", cmd_audit_list, "list recent audit events, oldest first")
    a_list.add_argument("--contract", help="only this contract ID")
    a_list.add_argument("--serial", help="only this token serial")
    a_list.add_argument("--limit", type=positive, default=50)
