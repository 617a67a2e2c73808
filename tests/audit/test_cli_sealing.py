"""The CLI seals the events it wrote before it exits, and `kinko audit verify` names forgeries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli.test_cli import run


def unsealed(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "var" / "kinko.db") as connection:
        return int(connection.execute(
            "SELECT count(*) FROM audit_events WHERE seq IS NULL").fetchone()[0])


def test_a_cli_command_seals_its_events_before_it_exits_and_verify_names_a_forgery(
    tmp_path: Path,
) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    demo = run(tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr

    assert unsealed(tmp_path) == 0  # no server ran: the CLI sealed what it wrote
    clean = run(tmp_path, "audit", "verify")
    assert clean.returncode == 0 and "audit chain OK" in clean.stdout, clean.stdout

    with sqlite3.connect(tmp_path / "var" / "kinko.db") as connection:
        forged = connection.execute(
            "INSERT INTO audit_events (occurred_at, action, outcome, actor, channel) "
            "VALUES ('2026-04-01 09:00:00.000000', 'token:unlocked', 'success', "
            "'staff:mallory', 'console')").lastrowid
    tampered = run(tmp_path, "audit", "verify")

    assert tampered.returncode == 1
    assert (f"PROBLEM  event {forged} (unsealed): it has no MAC but events before it have"
            in tampered.stdout)
    assert unsealed(tmp_path) == 1  # left out of the chain
