"""The ``kinko`` command: serve, database, demo data, customers, tokens, keys and audit.

Bad input ends with one line on stderr and a non-zero exit, never a traceback: 2 for what
argparse refuses (usage), 1 for everything else. Each command group is a module of this
package; this one assembles the parser and turns errors into that one line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from kinko.cli import api_clients, audit, db, keys, serve, staff, tokens
from kinko.cli.common import EXIT_ERROR, CliError, seal_before_exit
from kinko.config import Settings
from kinko.domain.errors import KinkoError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        try:
            return int(args.run(args, settings) or 0)
        finally:
            seal_before_exit()
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kinko", description="kinko (金庫): the OTP system of a shinkin bank.")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    # In the order `kinko --help` lists them.
    serve.register_serve(commands)
    db.register_db(commands)
    db.register_demo(commands)
    tokens.register_customer(commands)
    tokens.register_token(commands)
    keys.register_keys(commands)
    serve.register_notify(commands)
    staff.register_staff(commands)
    api_clients.register_api_client(commands)
    audit.register_audit(commands)
    return parser
