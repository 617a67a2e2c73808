"""The ``kinko`` command: serve, database, demo data, customers, tokens, keys and audit.

Bad input ends with one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from kinko.bootstrap import Kinko, build
from kinko.config import Settings
from kinko.domain.errors import KinkoError, NotFound
from kinko.domain.model import Customer, Token, TokenOrigin
from kinko.domain.provisioning import otpauth_uri
from kinko.domain.secrets import Password
from kinko.domain.serials import format_serial, parse_serial

if TYPE_CHECKING:
    from kinko.demo import DemoLine, DemoStaff
    from kinko.notify import MailSender

EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A message for the operator; printed as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        try:
            return int(args.run(args, settings) or 0)
        finally:
            _seal_before_exit()
    except (CliError, KinkoError) as error:
        _fail(str(error))
    except ValidationError as error:
        first = error.errors()[0]
        field = "KINKO_" + str(first["loc"][0]).upper() if first["loc"] else "setting"
        _fail(f"{field}: {first['msg']}")
    except SQLAlchemyError as error:
        _fail(f"database error: {type(error).__name__}: {str(error).splitlines()[0]}")
    except OSError as error:
        _fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        return 130


def _fail(message: str) -> NoReturn:
    print(f"kinko: error: {message}", file=sys.stderr)
    sys.exit(EXIT_ERROR)


#: What this command opened on an up-to-date schema: sealed before the command exits.
_OPENED: list[Kinko] = []


def _open(settings: Settings, *, migrated: bool = True) -> Kinko:
    kinko = build(settings)
    if migrated:
        from kinko.store.db import current_revision, head_revision

        if current_revision(kinko.engine) != head_revision(kinko.engine):
            kinko.close()
            raise CliError("the database schema is not up to date; run `kinko db upgrade`")
        _OPENED.append(kinko)
    return kinko


def _seal_before_exit() -> None:
    """Seal the audit events this command wrote (and any other pending ones) before it
    exits, so they do not wait unsealed for a server that may not be running: each carries
    its MAC anyway, but a sealed event is covered by the chain too. Never fails the command."""
    from kinko.store import audit_chain

    while _OPENED:
        kinko = _OPENED.pop()
        try:
            audit_chain.seal_all(kinko.engine, kinko.seedbox)
        except (audit_chain.AuditChainError, KinkoError, SQLAlchemyError) as error:
            print(f"kinko: warning: audit events left unsealed ({type(error).__name__}); "
                  "`kinko audit verify` says more", file=sys.stderr)


# --- serve -----------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from kinko.logs import configure
    from kinko.web.app import create_app

    kinko = _open(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    configure(settings.log_level, settings.log_format)
    print(f"kinko serving on http://{host}:{port}  (staff console: /console)", flush=True)
    # uvicorn's own lines go through kinko's handler (log_config=None); its access log is
    # off: it prints the raw path and query string, kinko.access logs the route template.
    uvicorn.run(create_app(kinko, notices=_sender(args.notify, settings)), host=host,
                port=port, log_level=settings.log_level.lower(), log_config=None,
                access_log=False, server_header=False)
    return 0


def _sender(kind: str, settings: Settings) -> MailSender | None:
    from kinko.notify import PrintSender, SmtpSender

    if kind == "print":
        return PrintSender()
    if kind == "smtp":
        return SmtpSender.from_settings(settings)
    return None


# --- notify ----------------------------------------------------------------------------

def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from kinko import notify

    kinko = _open(settings)
    from kinko.notify import PrintSender, SmtpSender

    sender: MailSender = PrintSender() if args.print else SmtpSender.from_settings(settings)
    if args.once:
        report = notify.run_once(kinko, sender)
        print(f"notices: {report.sent} sent, {report.retried} to retry, {report.failed} failed")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        notify.run_forever(kinko, sender, interval=args.interval, stop_event=stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


# --- staff -----------------------------------------------------------------------------

def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    import segno

    from kinko.domain.model import StaffRole
    from kinko.services.staff_accounts import add_staff

    kinko = _open(settings)
    password = _read_password("staff password")
    created = add_staff(kinko.ctx, name=args.name, display_name=args.display_name or args.name,
                        role=StaffRole(args.role), password=password)
    token = created.token.token
    uri = otpauth_uri(token.serial, created.token.seed, token.params,
                      issuer=f"{settings.bank_name} console")
    print(f"staff {created.member.name} ({created.member.role.value}) created")
    print(f"add this to the staff member's authenticator app (shown once):\n  {uri}")
    if sys.stdout.isatty():
        segno.make(uri, error="m").terminal(compact=True)
    return 0


def cmd_staff_list(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from kinko.store.rows import StaffRow

    kinko = _open(settings)
    with Session(kinko.engine) as session:
        rows = session.execute(select(StaffRow).order_by(StaffRow.name)).scalars().all()
        for row in rows:
            locked = " (password locked)" if row.password_locked_at else ""
            print(f"{row.name:<20} {row.role:<11} {row.display_name}{locked}")
    return 0


def cmd_staff_unlock(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services.staff_accounts import unlock_staff

    kinko = _open(settings)
    unlock_staff(kinko.ctx, args.name)
    print(f"staff {args.name}: password and token unlocked")
    return 0


# --- api-client ------------------------------------------------------------------------

def _print_secret(bearer: str) -> None:
    print("bearer secret (shown once; kinko keeps only its hash):")
    print(f"  {bearer}")
    print("send it as:  Authorization: Bearer <secret>")


def cmd_api_client_add(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services import api_clients

    kinko = _open(settings)
    issued = api_clients.add_client(kinko.ctx, args.name, args.scope)
    scopes = " ".join(sorted(issued.client.scopes))
    print(f"API client {issued.client.name} created (scopes: {scopes})")
    _print_secret(issued.bearer.reveal())
    return 0


def cmd_api_client_list(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services import api_clients

    kinko = _open(settings)

    def when(value: object) -> str:
        return f"{value:%Y-%m-%d %H:%M}" if value else "-"

    print(f"{'name':<20} {'scopes':<22} {'created':<16} {'rotated':<16} {'last used':<16} "
          "state")
    for client in api_clients.list_clients(kinko.ctx):
        state = f"revoked {when(client.revoked_at)}" if client.revoked else "active"
        print(f"{client.name:<20} {' '.join(sorted(client.scopes)):<22} "
              f"{when(client.created_at):<16} {when(client.rotated_at):<16} "
              f"{when(client.last_used_at):<16} {state}")
    return 0


def cmd_api_client_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services import api_clients

    kinko = _open(settings)
    issued = api_clients.rotate(kinko.ctx, args.name)
    print(f"API client {issued.client.name}: new secret; the old one no longer works")
    _print_secret(issued.bearer.reveal())
    return 0


def cmd_api_client_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services import api_clients

    kinko = _open(settings)
    client = api_clients.revoke(kinko.ctx, args.name)
    print(f"API client {client.name} revoked; its secret no longer works")
    return 0


# --- audit verify ----------------------------------------------------------------------

def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.store import audit_chain

    kinko = _open(settings)
    report = audit_chain.verify(kinko.engine, kinko.seedbox)
    for problem in report.problems:
        print(f"PROBLEM  {problem}")
    state = "OK" if report.ok else "TAMPERED"
    print(f"audit chain {state}: {report.sealed} events sealed, {report.unsealed} pending; "
          f"head seq {report.head_seq} hash {report.head_hash}")
    if report.legacy or report.mac_unchecked:
        print(f"covered by the chain alone: {report.legacy} events written before MACs, "
              f"{report.mac_unchecked} under pruned MAC keys")
    return 0 if report.ok else EXIT_ERROR


# --- db --------------------------------------------------------------------------------

def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.store.db import current_revision, upgrade

    kinko = build(settings)
    upgrade(kinko.engine)
    print(f"database at revision {current_revision(kinko.engine)}")
    return 0


def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.store.db import current_revision, head_revision

    kinko = build(settings)
    current, head = current_revision(kinko.engine), head_revision(kinko.engine)
    print(f"current: {current or '(empty)'}  head: {head}")
    return 0 if current == head else EXIT_ERROR


# --- demo ------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from kinko import demo

    kinko = _open(settings)
    if not demo.is_empty(kinko):
        if args.if_empty:
            print("demo data: the database already has customers; nothing loaded")
            _print_demo_logins(None, [])
            _print_demo_staff([(member, None) for member in demo.DEMO_STAFF])
            return 0
        raise CliError("the database already has customers; demo data loads only into an "
                       "empty database (use --if-empty to skip quietly)")
    lines = demo.load(kinko)
    spares = demo.spare_tokens(kinko)
    staff = demo.staff(kinko)
    print("demo data loaded")
    _print_demo_logins(lines, spares)
    _print_demo_staff(staff)
    return 0


def _print_demo_staff(staff: Sequence[tuple[DemoStaff, str | None]]) -> None:
    print("  staff console: http://127.0.0.1:8000/console  (code: kinko token code SERIAL;"
          " serials: kinko token list --demo)")
    for member, serial in staff:
        shown = f"serial {format_serial(serial)}" if serial else ""
        print(f"    {member.name:<8} {member.password:<16} {member.role.value:<11} {shown}")
    print()


def _print_demo_logins(lines: Sequence[DemoLine] | None, spares: Sequence[str]) -> None:
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
    print("  then open http://127.0.0.1:8000/login\n")


# --- customer --------------------------------------------------------------------------

def _read_password(prompt: str) -> Password:
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        if getpass.getpass(f"{prompt} (again): ") != first:
            raise CliError("the two entries differ")
        return Password(first)
    line = sys.stdin.readline()
    if not line:
        raise CliError(f"{prompt}: expected a line on standard input")
    return Password(line.rstrip("\n"))


def cmd_customer_add(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services.customers import add_customer

    kinko = _open(settings)
    login = _read_password("login password")
    confirmation = _read_password("confirmation password")
    customer = add_customer(kinko.ctx, contract_id=args.contract_id, name=args.name,
                            email=args.email, login_password=login,
                            confirmation_password=confirmation)
    print(f"customer {customer.contract_id} created")
    return 0


# --- token -----------------------------------------------------------------------------

def cmd_token_issue(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services.issuance import issue_token

    kinko = _open(settings)
    origin = TokenOrigin.DEMO if args.demo else TokenOrigin.ISSUED
    issued = issue_token(kinko.ctx, origin)
    token = issued.token
    print(f"serial   {format_serial(token.serial)}")
    print(f"state    {token.state}  (expires unbound {token.expires_at:%Y-%m-%d %H:%M} UTC)")
    uri = otpauth_uri(token.serial, issued.seed, token.params, issuer=settings.bank_name)
    print(f"otpauth  {uri}")
    return 0


def _token(kinko: Kinko, serial: str) -> tuple[Token, Customer | None]:
    serial = parse_serial(serial)
    with kinko.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
        owner = uow.customers.get(token.customer_id) if token and token.customer_id else None
    if token is None:
        raise NotFound(f"no token with serial {format_serial(serial)}")
    return token, owner


def cmd_token_show(args: argparse.Namespace, settings: Settings) -> int:
    kinko = _open(settings)
    token, owner = _token(kinko, args.serial)

    def when(value: object) -> str:
        return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "-"

    print(f"serial        {format_serial(token.serial)}")
    print(f"state         {token.state}  (since {when(token.state_changed_at)})")
    print(f"contract      {owner.contract_id if owner else '-'}")
    print(f"origin        {token.origin}")
    p = token.params
    print(f"parameters    TOTP {p.algorithm} {p.digits} digits {p.period} s")
    print(f"created       {when(token.created_at)}")
    print(f"expires       {when(token.expires_at) if token.state == 'unbound' else '-'}")
    print(f"bound         {when(token.bound_at)}")
    print(f"last used     {when(token.last_used_at)}")
    print(f"drift         {token.drift:+d} steps")
    print(f"failures      {token.failures}")
    return 0


def cmd_token_code(args: argparse.Namespace, settings: Settings) -> int:
    kinko = _open(settings)
    token, _ = _token(kinko, args.serial)
    if token.origin is not TokenOrigin.DEMO:
        raise CliError("codes are shown only for demo tokens")
    with kinko.ctx.uow() as uow:
        seed = uow.tokens.seed(token)
    now = kinko.ctx.clock().timestamp()
    code = token.params.code_at(seed.reveal(), now)
    print(f"{code[:3]} {code[3:]}  ({int(token.params.seconds_left(now))} s left)  "
          f"serial {format_serial(token.serial)}")
    return 0


def cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from kinko.store.rows import CustomerRow, TokenRow

    kinko = _open(settings)
    query = (select(TokenRow.serial, TokenRow.state, TokenRow.origin, CustomerRow.contract_id)
             .outerjoin(CustomerRow, CustomerRow.id == TokenRow.customer_id)
             .order_by(TokenRow.id).limit(args.limit))
    if args.demo:
        query = query.where(TokenRow.origin == TokenOrigin.DEMO.value)
    with Session(kinko.engine) as session:
        rows = session.execute(query).all()
    for serial, state, origin, contract_id in rows:
        print(f"{format_serial(serial)}  {state:<9}  {origin:<11}  {contract_id or '-'}")
    return 0


def cmd_token_expire(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services.issuance import expire_unbound

    kinko = _open(settings)
    print(f"{expire_unbound(kinko.ctx)} unbound tokens expired")
    return 0


# --- keys ------------------------------------------------------------------------------

def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.store import keys

    if settings.master_key is not None:
        raise CliError("KINKO_MASTER_KEY is set: rotate by giving the servers a key file "
                       "(KINKO_KEY_FILE) instead")
    kinko = _open(settings)
    report = keys.rotate(kinko.engine, settings.effective_key_file)
    print(f"new current key {report.new_key_id}; {report.resealed} seeds re-encrypted")
    print(f"old keys kept in {settings.effective_key_file} until `kinko keys prune`: "
          + ", ".join(report.old_key_ids))
    return 0


def cmd_keys_prune(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.store import keys

    kinko = _open(settings)
    dropped = keys.prune(kinko.engine, settings.effective_key_file)
    print("dropped keys: " + (", ".join(dropped) if dropped else "none"))
    current = kinko.seedbox.current_key_id
    for key_id, count in sorted(keys.audit_key_usage(kinko.engine).items()):
        if key_id != current:
            print(f"kept key {key_id}: {count} unsealed audit events need it to be checked "
                  "(`kinko audit verify` names them)")
    return 0


def cmd_keys_status(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.store import keys

    kinko = _open(settings)
    usage = keys.key_usage(kinko.engine)
    current = kinko.seedbox.current_key_id
    print(f"current key {current}")
    for key_id, count in sorted(usage.items()):
        print(f"  {key_id}  {count} seeds{'  (current)' if key_id == current else ''}")
    return 0


# --- audit -----------------------------------------------------------------------------

def cmd_audit_list(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.domain.serials import parse_contract_id

    kinko = _open(settings)
    contract_id = parse_contract_id(args.contract) if args.contract else None
    serial = parse_serial(args.serial) if args.serial else None
    with kinko.ctx.uow() as uow:
        events = uow.audit.recent(limit=args.limit, contract_id=contract_id, serial=serial)
    for e in reversed(events):
        print(f"{e.occurred_at:%Y-%m-%d %H:%M:%S}  {e.action:<38} {e.outcome:<7}  "
              f"{e.actor:<22} {e.channel:<7}  {e.contract_id or '-':<10}  "
              f"{e.serial or '-':<12}  {e.reason or ''}")
    return 0


# --- parser ----------------------------------------------------------------------------

def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kinko", description="kinko (金庫): the OTP system of a shinkin bank.")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    def add(group: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
            run: Callable[[argparse.Namespace, Settings], int], help_: str,
            ) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help_, description=help_)
        sub.set_defaults(run=run)
        return sub

    serve = add(commands, "serve", cmd_serve, "serve the web screens and the API")
    serve.add_argument("--host", help="address to bind (default KINKO_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=_positive, help="port (default KINKO_PORT, 8000)")
    serve.add_argument("--notify", choices=("off", "print", "smtp"), default="off",
                       help="deliver customer notices from this process: print them, send "
                            "them by SMTP (KINKO_SMTP_*), or leave them to `kinko notify`")

    db = commands.add_parser("db", help="database schema").add_subparsers(
        required=True, metavar="ACTION")
    add(db, "upgrade", cmd_db_upgrade, "migrate the database to the newest schema")
    add(db, "current", cmd_db_current, "show the schema revision (exit 1 if not newest)")

    demo = add(commands, "demo", cmd_demo, "load demo customers, accounts and tokens")
    demo.add_argument("--if-empty", action="store_true",
                      help="do nothing (exit 0) when the database already has customers")

    customer = commands.add_parser("customer", help="customers").add_subparsers(
        required=True, metavar="ACTION")
    c_add = add(customer, "add", cmd_customer_add,
                "add a customer; passwords are asked for (or read as two stdin lines)")
    c_add.add_argument("contract_id", metavar="CONTRACT_ID", help="契約者ID, 10 digits")
    c_add.add_argument("--name", required=True, help="the customer's name")
    c_add.add_argument("--email", help="address for notices")

    token = commands.add_parser("token", help="software tokens").add_subparsers(
        required=True, metavar="ACTION")
    t_issue = add(token, "issue", cmd_token_issue,
                  "issue an unbound token and print its serial and otpauth:// URI")
    t_issue.add_argument("--demo", action="store_true",
                         help="mark it as a demo token (its codes can be shown)")
    add(token, "show", cmd_token_show, "show a token").add_argument("serial", metavar="SERIAL")
    add(token, "code", cmd_token_code,
        "show the current code of a demo token").add_argument("serial", metavar="SERIAL")
    t_list = add(token, "list", cmd_token_list, "list tokens")
    t_list.add_argument("--demo", action="store_true", help="only demo tokens")
    t_list.add_argument("--limit", type=_positive, default=100)
    add(token, "expire", cmd_token_expire, "revoke unbound tokens past their binding period")

    keys = commands.add_parser("keys", help="seed encryption keys").add_subparsers(
        required=True, metavar="ACTION")
    add(keys, "rotate", cmd_keys_rotate,
        "make a new current key and re-encrypt every seed under it (servers keep running)")
    add(keys, "prune", cmd_keys_prune, "drop old keys that no seed uses any more")
    add(keys, "status", cmd_keys_status, "show which keys seal how many seeds")

    notify = add(commands, "notify", cmd_notify,
                 "deliver customer notices from the outbox (until stopped)")
    notify.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    notify.add_argument("--print", action="store_true", help="print mails instead of SMTP")
    notify.add_argument("--interval", type=_positive, default=5, help="seconds between passes")

    staff = commands.add_parser("staff", help="bank staff of the console").add_subparsers(
        required=True, metavar="ACTION")
    s_add = add(staff, "add", cmd_staff_add,
                "add a staff member; prints the otpauth:// URI of their own TOTP token")
    s_add.add_argument("name", metavar="NAME", help="staff ID, e.g. suzuki")
    s_add.add_argument("--role", required=True, choices=("operator", "supervisor"))
    s_add.add_argument("--display-name", help="name shown in the console")
    add(staff, "list", cmd_staff_list, "list staff members")
    add(staff, "unlock", cmd_staff_unlock,
        "clear a staff member's password lock and token lock").add_argument(
        "name", metavar="NAME")

    api_client = commands.add_parser(
        "api-client", help="API clients of the bank's systems (bearer secrets)",
    ).add_subparsers(required=True, metavar="ACTION")
    ac_add = add(api_client, "add", cmd_api_client_add,
                 "add a client and print its bearer secret (once)")
    ac_add.add_argument("name", metavar="NAME", help="e.g. ib-core or callcenter")
    ac_add.add_argument("--scope", action="append", required=True,
                        choices=("verify", "manage", "audit"),
                        help="what it may do (repeat for several): verify codes and read "
                             "status, manage (flows, staff actions), audit (read the trail)")
    add(api_client, "list", cmd_api_client_list, "list clients (never their secrets)")
    add(api_client, "rotate", cmd_api_client_rotate,
        "give a client a new secret; the old one stops working at once").add_argument(
        "name", metavar="NAME")
    add(api_client, "revoke", cmd_api_client_revoke,
        "revoke a client for good (its name is not reused)").add_argument(
        "name", metavar="NAME")

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        required=True, metavar="ACTION")
    add(audit, "verify", cmd_audit_verify,
        "seal pending events and check the SHA-256 chain (exit 1 if tampered)")
    a_list = add(audit, "list", cmd_audit_list, "list recent audit events, oldest first")
    a_list.add_argument("--contract", help="only this contract ID")
    a_list.add_argument("--serial", help="only this token serial")
    a_list.add_argument("--limit", type=_positive, default=50)
    return parser


if __name__ == "__main__":
    sys.exit(main())
