"""The ``kinko-token`` command: the terminal UI when run without a subcommand, and
``activate``, ``code``, ``list``, ``use`` and ``remove`` for scripts and plain terminals.

Errors are one line on stderr (``kinko-token: error: ...``) and exit status 1.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from kinko.domain.errors import KinkoError
from kinko.domain.serials import format_serial, parse_serial
from kinko_token import __version__
from kinko_token.client import activate
from kinko_token.errors import InvalidPin, PinRequired, TokenAppError, TokenNotFound
from kinko_token.tokens import (
    ACTIVATED_MESSAGE,
    DEFAULT_SERVER,
    TokenInfo,
    format_timestamp,
    read_code,
)
from kinko_token.vault import ENV_DATA_DIR, ENV_SERVER, Pin, Vault, VaultFile

__all__ = ["main"]

PROG = "kinko-token"
Handler = Callable[[argparse.Namespace, VaultFile], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, VaultFile(getattr(args, "data_dir", None)))
    except (TokenAppError, KinkoError) as error:
        _say(f"{PROG}: error: {error}", stream=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _say("", stream=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    # --data-dir is accepted before or after the subcommand; SUPPRESS keeps a subcommand's
    # parser from overwriting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR",
        help=f"where tokens.json lives (default: ${ENV_DATA_DIR}, else the user data folder)",
    )
    pin_stdin = argparse.ArgumentParser(add_help=False)
    pin_stdin.add_argument(
        "--pin-stdin", action="store_true",
        help="read the PIN from one line of standard input instead of asking",
    )

    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common],
        description="kinko ソフトウェアトークン / software token. Without a command, "
                    "the terminal UI starts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # No set_defaults(data_dir=...): the parents share the --data-dir action object, so a
    # default set here would become the subcommands' default too and hide a value given before.
    parser.set_defaults(handler=_run_ui)
    commands = parser.add_subparsers(metavar="COMMAND")

    command = commands.add_parser(
        "activate", parents=[common, pin_stdin], help="activate a new token with the server"
    )
    command.add_argument("--server", metavar="URL",
                         help=f"the kinko server (default ${ENV_SERVER}, else the server of "
                              "this device's current token, else asked once at a terminal, "
                              f"else {DEFAULT_SERVER})")
    command.add_argument("--json", action="store_true", help="print the result as JSON")
    command.set_defaults(handler=_activate)

    command = commands.add_parser(
        "code", parents=[common, pin_stdin], help="print the current one-time password"
    )
    command.add_argument("--json", action="store_true", help="print the result as JSON")
    command.add_argument("--serial", metavar="S", help="the token to use (default: current)")
    command.set_defaults(handler=_code)

    command = commands.add_parser("list", parents=[common], help="list the tokens")
    command.set_defaults(handler=_list)

    command = commands.add_parser("use", parents=[common], help="make a token the current one")
    command.add_argument("serial", metavar="SERIAL")
    command.set_defaults(handler=_use)

    command = commands.add_parser("remove", parents=[common], help="delete a token for good")
    command.add_argument("serial", metavar="SERIAL")
    command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    command.set_defaults(handler=_remove)
    return parser


# --- commands --------------------------------------------------------------------------------


def _run_ui(args: argparse.Namespace, file: VaultFile) -> int:
    from kinko_token.app import TokenApp  # Textual loads only for the UI

    TokenApp(file).run()
    return 0


def _activate(args: argparse.Namespace, file: VaultFile) -> int:
    server = args.server or file.default_server() or _ask_server(args)
    # Everything that can fail on this device is checked before the server makes a token.
    vault = _unlock(args, file) if file.exists() else None
    pin = None
    if vault is None and (args.pin_stdin or not file.keyring_usable()):
        pin = _read_pin(args, confirm=True)
    activated = activate(server)
    if vault is None:
        vault = file.create(pin)
    vault.add(activated.info, activated.seed)
    info = activated.info
    if args.json:
        _say(json.dumps({
            "serial": info.serial,
            "server": info.server,
            "expires_at": None if info.expires_at is None else format_timestamp(info.expires_at),
        }))
    else:
        _say(f"シリアル番号 / serial: {info.display_serial}")
        _say(ACTIVATED_MESSAGE)
        _say(_code_line(vault, info))
    return 0


def _ask_server(args: argparse.Namespace) -> str:
    """The server, asked at a terminal the first time (the new token then remembers it);
    ``DEFAULT_SERVER`` when there is nobody to ask (a script, or the PIN on stdin)."""
    if args.pin_stdin or not sys.stdin.isatty():
        return DEFAULT_SERVER
    answer = input(f"サーバーのURL / server URL [{DEFAULT_SERVER}]: ").strip()
    return answer or DEFAULT_SERVER


def _code(args: argparse.Namespace, file: VaultFile) -> int:
    vault = _unlock(args, file)
    token = vault.token(parse_serial(args.serial)) if args.serial else vault.current
    if token is None:
        raise TokenNotFound(
            "この端末にはトークンがありません / no token on this device; run: kinko-token activate"
        )
    if args.json:
        reading = read_code(token.parameters, vault.seed(token.serial), time.time())
        _say(json.dumps({
            "code": reading.code,
            "seconds_left": reading.whole_seconds_left,
            "serial": token.serial,
        }))
    else:
        _say(_code_line(vault, token))
    return 0


def _list(args: argparse.Namespace, file: VaultFile) -> int:
    summary = file.summary() if file.exists() else None
    if summary is None or not summary.tokens:
        _say("この端末にはトークンがありません / no tokens on this device")
        return 0
    for info in summary.tokens:
        mark = "*" if info.serial == summary.current else " "
        _say(f"{mark} {info.display_serial}  {info.server}  "
              f"activated {info.activated_at:%Y-%m-%d}")
    return 0


def _use(args: argparse.Namespace, file: VaultFile) -> int:
    info = file.use(parse_serial(args.serial))
    _say(f"current: {info.display_serial}")
    return 0


def _remove(args: argparse.Namespace, file: VaultFile) -> int:
    serial = parse_serial(args.serial)
    shown = format_serial(serial)
    if not args.yes and sys.stdin.isatty():
        answer = input(
            f"{shown} を削除すると元に戻せません。削除しますか / remove {shown} for good? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            _say("削除しませんでした / not removed")
            return 1
    file.remove(serial)
    _say(f"removed: {shown}")
    return 0


# --- helpers ---------------------------------------------------------------------------------


def _say(text: str, *, stream: TextIO | None = None) -> None:
    """One line to stdout (or ``stream``): what a command tells the customer."""
    out = sys.stdout if stream is None else stream
    out.write(text + "\n")
    out.flush()


def _code_line(vault: Vault, token: TokenInfo) -> str:
    reading = read_code(token.parameters, vault.seed(token.serial), time.time())
    return (f"{reading.grouped}  ({reading.whole_seconds_left} s left)  "
            f"serial {token.display_serial}")


def _unlock(args: argparse.Namespace, file: VaultFile) -> Vault:
    if file.is_pin_protected():
        return file.unlock(_read_pin(args, confirm=False))
    return file.unlock()


def _read_pin(args: argparse.Namespace, *, confirm: bool) -> Pin:
    """The PIN from one line of stdin (``--pin-stdin``) or asked on the terminal."""
    if getattr(args, "pin_stdin", False):
        line = sys.stdin.readline().strip()
        if not line:
            raise PinRequired("標準入力にPINがありません / no PIN on standard input")
        return Pin.parse(line)
    if not sys.stdin.isatty():
        raise PinRequired(
            "PINが必要です / a PIN is needed: give it with --pin-stdin or run in a terminal"
        )
    pin = Pin.parse(getpass.getpass("PIN: "))
    if confirm and Pin.parse(getpass.getpass("PIN (確認 / again): ")) != pin:
        raise InvalidPin("PINが一致しません / the two PINs differ")
    return pin
