"""``kinko db`` (migrate the schema, show its revision) and ``kinko demo`` (the demo bank
that ``make run`` serves: customers, accounts, tokens and staff, with their logins)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kinko.bootstrap import build
from kinko.cli.common import EXIT_ERROR, CliError, add, open_kinko
from kinko.config import Settings
from kinko.domain.serials import format_serial
from kinko.services.health import SchemaState

if TYPE_CHECKING:
    from kinko.cli.common import Commands
    from kinko.demo import DemoLine, DemoStaff


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    kinko = build(settings)
    status = kinko.upgrade_schema()
    print(f"database at revision {status.current}")
    return 0


def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    kinko = build(settings)
    status = kinko.health.schema()
    print(f"current: {status.current or '(empty)'}  head: {status.expected}")
    return 0 if status.state is SchemaState.CURRENT else EXIT_ERROR


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from kinko import demo

    kinko = open_kinko(settings)
    if not demo.is_empty(kinko):
        if args.if_empty:
            print("demo data: the database already has customers; nothing loaded")
            _print_demo_logins(None, [], _browser_url(settings))
            _print_demo_staff([(member, None) for member in demo.DEMO_STAFF],
                              _browser_url(settings))
            return 0
        raise CliError("the database already has customers; demo data loads only into an "
                       "empty database (use --if-empty to skip quietly)")
    lines = demo.load(kinko)
    spares = demo.spare_tokens(kinko)
    staff = demo.staff(kinko)
    print("demo data loaded")
    _print_demo_logins(lines, spares, _browser_url(settings))
    _print_demo_staff(staff, _browser_url(settings))
    return 0


def _browser_url(settings: Settings) -> str:
    """Where a browser reaches ``kinko serve`` with these settings (KINKO_HOST, KINKO_PORT):
    the banner must name the port the server will listen on, not the default one."""
    host = settings.host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - bound everywhere: the local machine
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _print_demo_staff(staff: Sequence[tuple[DemoStaff, str | None]], url: str) -> None:
    print(f"  staff console: {url}/console  (code: kinko token code SERIAL;"
          " serials: kinko token list --demo)")
    for member, serial in staff:
        shown = f"serial {format_serial(serial)}" if serial else ""
        print(f"    {member.name:<8} {member.password:<16} {member.role.value:<11} {shown}")
    print()


def _print_demo_logins(lines: Sequence[DemoLine] | None, spares: Sequence[str],
                       url: str) -> None:
    from kinko.demo import DEMO_CUSTOMERS

    print("\n  契約者ID      ログインPW        確認用PW          OTP")
    serials = {line.customer.contract_id: line.serial for line in lines or []}
    for c in DEMO_CUSTOMERS:
        if c.otp:
            otp = "OTP + ログイン時OTP" if c.login_otp else "OTP (取引のみ)"
        else:
            otp = "なし (確認用パスワード)"
        serial = serials.get(c.contract_id)
        extra = f"  serial {format_serial(serial)}" if serial else ""
        print(f"  {c.contract_id}  {c.login_password:<16}  {c.confirmation_password:<16}  "
              f"{otp}{extra}")
    if spares:
        print("\n  unbound demo tokens for 利用開始 / 交換: "
              + ", ".join(format_serial(serial) for serial in spares))
    print("\n  a demo token's current code: .venv/bin/kinko token code SERIAL"
          "   (all demo serials: .venv/bin/kinko token list --demo)")
    print(f"  then open {url}/login\n")


def register_db(commands: Commands) -> None:
    db = commands.add_parser("db", help="database schema").add_subparsers(
        required=True, metavar="ACTION")
    add(db, "upgrade", cmd_db_upgrade, "migrate the database to the newest schema")
    add(db, "current", cmd_db_current, "show the schema revision (exit 1 if not newest)")


def register_demo(commands: Commands) -> None:
    demo = add(commands, "demo", cmd_demo, "load demo customers, accounts and tokens")
    demo.add_argument("--if-empty", action="store_true",
                      help="do nothing (exit 0) when the database already has customers")
