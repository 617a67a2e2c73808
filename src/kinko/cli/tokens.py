"""``kinko customer`` and ``kinko token``: add a customer; issue, show, list and expire
software tokens, and show a demo token's current code."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kinko.cli.common import CliError, add, open_kinko, positive, read_password
from kinko.config import Settings
from kinko.domain.errors import NotFound
from kinko.domain.model import Customer, Token, TokenOrigin
from kinko.domain.provisioning import otpauth_uri
from kinko.domain.serials import format_serial, parse_serial

if TYPE_CHECKING:
    from kinko.bootstrap import Kinko
    from kinko.cli.common import Commands


def cmd_customer_add(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services.customers import add_customer

    kinko = open_kinko(settings)
    login = read_password("login password")
    confirmation = read_password("confirmation password")
    customer = add_customer(kinko.ctx, contract_id=args.contract_id, name=args.name,
                            email=args.email, login_password=login,
                            confirmation_password=confirmation)
    print(f"customer {customer.contract_id} created")
    return 0


def cmd_token_issue(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services.issuance import issue_token

    kinko = open_kinko(settings)
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
    kinko = open_kinko(settings)
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
    kinko = open_kinko(settings)
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
    from kinko.services.listings import tokens

    kinko = open_kinko(settings)
    origin = TokenOrigin.DEMO if args.demo else None
    for listed in tokens(kinko.ctx, origin=origin, limit=args.limit):
        token = listed.token
        print(f"{format_serial(token.serial)}  {token.state.value:<9}  "
              f"{token.origin.value:<11}  {listed.contract_id or '-'}")
    return 0


def cmd_token_expire(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services.issuance import expire_unbound

    kinko = open_kinko(settings)
    print(f"{expire_unbound(kinko.ctx)} unbound tokens expired")
    return 0


def register_customer(commands: Commands) -> None:
    customer = commands.add_parser("customer", help="customers").add_subparsers(
        required=True, metavar="ACTION")
    c_add = add(customer, "add", cmd_customer_add,
                "add a customer; passwords are asked for (or read as two stdin lines)")
    c_add.add_argument("contract_id", metavar="CONTRACT_ID", help="契約者ID, 10 digits")
    c_add.add_argument("--name", required=True, help="the customer's name")
    c_add.add_argument("--email", help="address for notices")


def register_token(commands: Commands) -> None:
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
    t_list.add_argument("--limit", type=positive, default=100)
    add(token, "expire", cmd_token_expire, "revoke unbound tokens past their binding period")
