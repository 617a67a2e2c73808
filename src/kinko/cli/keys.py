"""``kinko keys``: rotate, prune and show the seed encryption keys (``Kinko.seed_keys``)
while the servers keep running."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kinko.cli.common import CliError, add, open_kinko
from kinko.config import Settings

if TYPE_CHECKING:
    from kinko.cli.common import Commands


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    if settings.master_key is not None:
        raise CliError("KINKO_MASTER_KEY is set: rotate by giving the servers a key file "
                       "(KINKO_KEY_FILE) instead")
    kinko = open_kinko(settings)
    report = kinko.seed_keys.rotate()
    print(f"new current key {report.new_key_id}; {report.resealed} seeds re-encrypted")
    print(f"old keys kept in {settings.effective_key_file} until `kinko keys prune`: "
          + ", ".join(report.old_key_ids))
    return 0


def cmd_keys_prune(args: argparse.Namespace, settings: Settings) -> int:
    kinko = open_kinko(settings)
    keys = kinko.seed_keys
    dropped = keys.prune()
    print("dropped keys: " + (", ".join(dropped) if dropped else "none"))
    current = keys.current_key_id
    for key_id, count in sorted(keys.audit_usage().items()):
        if key_id != current:
            print(f"kept key {key_id}: {count} unsealed audit events need it to be checked "
                  "(`kinko audit verify` names them)")
    return 0


def cmd_keys_status(args: argparse.Namespace, settings: Settings) -> int:
    kinko = open_kinko(settings)
    keys = kinko.seed_keys
    usage, current = keys.usage(), keys.current_key_id
    print(f"current key {current}")
    for key_id, count in sorted(usage.items()):
        print(f"  {key_id}  {count} seeds{'  (current)' if key_id == current else ''}")
    return 0


def register_keys(commands: Commands) -> None:
    keys = commands.add_parser("keys", help="seed encryption keys").add_subparsers(
        required=True, metavar="ACTION")
    add(keys, "rotate", cmd_keys_rotate,
        "make a new current key and re-encrypt every seed under it (servers keep running)")
    add(keys, "prune", cmd_keys_prune, "drop old keys that no seed uses any more")
    add(keys, "status", cmd_keys_status, "show which keys seal how many seeds")
