"""``kinko staff``: the bank staff of the console (add with an own TOTP token, list, unlock)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from kinko.cli.common import add, open_kinko, read_password
from kinko.config import Settings
from kinko.domain.provisioning import otpauth_uri

if TYPE_CHECKING:
    from kinko.cli.common import Commands


def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    import segno

    from kinko.domain.model import StaffRole
    from kinko.services.staff_accounts import add_staff

    kinko = open_kinko(settings)
    password = read_password("staff password")
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
    from kinko.services.listings import staff_members

    kinko = open_kinko(settings)
    for member in staff_members(kinko.ctx):
        locked = " (password locked)" if member.password.locked else ""
        print(f"{member.name:<20} {member.role.value:<11} {member.display_name}{locked}")
    return 0


def cmd_staff_unlock(args: argparse.Namespace, settings: Settings) -> int:
    from kinko.services.staff_accounts import unlock_staff

    kinko = open_kinko(settings)
    unlock_staff(kinko.ctx, args.name)
    print(f"staff {args.name}: password and token unlocked")
    return 0


def register_staff(commands: Commands) -> None:
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
