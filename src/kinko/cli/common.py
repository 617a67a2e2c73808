"""What every ``kinko`` command shares: adding it to the parser, opening kinko on an
up-to-date schema, sealing what it wrote before it exits, and reading a password.

Commands raise ``CliError`` (or a ``KinkoError``) for the operator; ``kinko.cli.main`` prints
it as one line.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from sqlalchemy.exc import SQLAlchemyError

from kinko.bootstrap import Kinko, build
from kinko.config import Settings
from kinko.domain.errors import KinkoError
from kinko.domain.secrets import Password
from kinko.services import audit
from kinko.services.health import SchemaState

if TYPE_CHECKING:
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_ERROR = 1
EXIT_USAGE = 2

#: A command: the parsed arguments and the settings in, the exit status out.
Run: TypeAlias = Callable[[argparse.Namespace, Settings], int]


class CliError(Exception):
    """A message for the operator; printed as one line."""


def add(group: Commands, name: str, run: Run, help_: str) -> argparse.ArgumentParser:
    """Add the command ``name`` to ``group``; ``run`` carries it out."""
    sub = group.add_parser(name, help=help_, description=help_)
    sub.set_defaults(run=run)
    return sub


def positive(text: str) -> int:
    """An argument type: a whole number of at least 1 (else argparse's usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


#: What this command opened on an up-to-date schema: sealed before the command exits.
_OPENED: list[Kinko] = []


def open_kinko(settings: Settings) -> Kinko:
    """kinko wired for ``settings``, refused unless the database is at this code's schema;
    the audit events the command writes through it are sealed before it exits."""
    kinko = build(settings)
    if kinko.health.schema().state is not SchemaState.CURRENT:
        kinko.close()
        raise CliError("the database schema is not up to date; run `kinko db upgrade`")
    _OPENED.append(kinko)
    return kinko


def seal_before_exit() -> None:
    """Seal the audit events this command wrote (and any other pending ones) before it
    exits, so they do not wait unsealed for a server that may not be running: each carries
    its MAC anyway, but a sealed event is covered by the chain too. Never fails the command."""
    while _OPENED:
        kinko = _OPENED.pop()
        try:
            audit.seal_all(kinko.audit_trail)
        except (audit.AuditChainError, KinkoError, SQLAlchemyError) as error:
            print(f"kinko: warning: audit events left unsealed ({type(error).__name__}); "
                  "`kinko audit verify` says more", file=sys.stderr)


def read_password(prompt: str) -> Password:
    """Asked twice on a terminal; otherwise one line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        if getpass.getpass(f"{prompt} (again): ") != first:
            raise CliError("the two entries differ")
        return Password(first)
    line = sys.stdin.readline()
    if not line:
        raise CliError(f"{prompt}: expected a line on standard input")
    return Password(line.rstrip("\n"))
