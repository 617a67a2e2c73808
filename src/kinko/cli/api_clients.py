"""``kinko api-client``: the bank systems' API clients (add, list, rotate, revoke); a bearer
secret is printed once and never again."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kinko.cli.common import add, open_kinko
from kinko.config import Settings

if TYPE_CHECKING:
    from kinko.cli.common import Commands


def _print_secret(bearer: str) -> None:
    print("bearer secret (shown once; kinko keeps only its hash):")
    print(f"  {bearer}")
    print("send it as:  Authorization: Bearer <secret>")


def cmd_api_client_add(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services import api_clients

    kinko = open_kinko(settings)
    issued = api_clients.add_client(kinko.ctx, args.name, args.scope)
    scopes = " ".join(sorted(issued.client.scopes))
    print(f"API client {issued.client.name} created (scopes: {scopes})")
    _print_secret(issued.bearer.reveal())
    return 0


def cmd_api_client_list(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services import api_clients

    kinko = open_kinko(settings)

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

    kinko = open_kinko(settings)
    issued = api_clients.rotate(kinko.ctx, args.name)
    print(f"API client {issued.client.name}: new secret; the old one no longer works")
    _print_secret(issued.bearer.reveal())
    return 0


def cmd_api_client_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services import api_clients

    kinko = open_kinko(settings)
    client = api_clients.revoke(kinko.ctx, args.name)
    print(f"API client {client.name} revoked; its secret no longer works")
    return 0


def register_api_client(commands: Commands) -> None:
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
