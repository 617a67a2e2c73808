"""The ``kinko`` command as an operator runs it: real processes on a fresh SQLite folder."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

KINKO = [sys.executable, "-m", "kinko.cli"]


def run(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_")}
    environment |= {"KINKO_DATA_DIR": str(tmp_path / "var")} | (env or {})
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [*KINKO, *args], input=stdin, capture_output=True, text=True, cwd=tmp_path,
        env=environment, timeout=120, check=False,
    )


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    result = run(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_db_upgrade_creates_the_database_and_a_private_key_file(migrated: Path) -> None:
    key_file = migrated / "var" / "master.key"
    assert (migrated / "var" / "kinko.db").exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert run(migrated, "db", "current").returncode == 0


def test_commands_refuse_an_unmigrated_database_with_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "token", "issue")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "kinko: error: the database schema is not up to date; run `kinko db upgrade`")


def test_demo_loads_once_and_prints_the_logins(migrated: Path) -> None:
    first = run(migrated, "demo", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "1000000001" in first.stdout and "hanako-login" in first.stdout
    second = run(migrated, "demo", "--if-empty")
    assert second.returncode == 0 and "nothing loaded" in second.stdout
    again = run(migrated, "demo")
    assert again.returncode == 1 and "already has customers" in again.stderr


def test_token_issue_prints_a_serial_and_an_otpauth_uri(migrated: Path) -> None:
    result = run(migrated, "token", "issue")
    assert result.returncode == 0, result.stderr
    serial = re.search(r"serial\s+(\d{4} \d{4} \d{4})", result.stdout)
    assert serial is not None
    assert re.search(r"otpauth://totp/.+\?secret=[A-Z2-7]{32}&issuer=", result.stdout)
    shown = run(migrated, "token", "show", serial.group(1))
    assert shown.returncode == 0 and "unbound" in shown.stdout
    # Codes are shown only for demo tokens.
    code = run(migrated, "token", "code", serial.group(1))
    assert code.returncode == 1 and "only for demo tokens" in code.stderr


def test_staff_and_token_lists_show_the_demo_bank(migrated: Path) -> None:
    from kinko.demo import DEMO_STAFF

    assert run(migrated, "demo").returncode == 0
    staff = run(migrated, "staff", "list")
    assert staff.returncode == 0, staff.stderr
    names = [line.split()[0] for line in staff.stdout.splitlines()]
    assert names == sorted(member.name for member in DEMO_STAFF)
    assert "(password locked)" not in staff.stdout
    demo = run(migrated, "token", "list", "--demo").stdout.splitlines()
    assert demo and all(
        re.fullmatch(r"\d{4} \d{4} \d{4}  [a-z]+ *  demo {9}(\d{10}|-)", line)
        for line in demo), demo
    assert any(re.search(r"active +demo +\d{10}$", line) for line in demo)
    assert run(migrated, "token", "list", "--limit", "1").stdout.splitlines() == demo[:1]


def test_customer_add_reads_passwords_from_stdin(migrated: Path) -> None:
    result = run(migrated, "customer", "add", "2000000001", "--name", "試験 一郎",
                 stdin="login-secret-1\nconfirm-secret-2\n")
    assert result.returncode == 0, result.stderr
    duplicate = run(migrated, "customer", "add", "2000000001", "--name", "x",
                    stdin="login-secret-1\nconfirm-secret-2\n")
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    audit = run(migrated, "audit", "list", "--contract", "2000000001")
    assert "customer:created" in audit.stdout
    assert "login-secret-1" not in audit.stdout + audit.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("token", "show", "12345"), "serial must be 12 digits"),
        (("token", "show", "123456789012"), "check digit"),
        (("token", "show", "100000000008"), "no token with serial"),
        (("audit", "list", "--contract", "abc"), "contract ID must be 10 digits"),
        (("customer", "add", "12", "--name", "x"), "contract ID must be 10 digits"),
    ],
)
def test_bad_input_gets_one_line_and_no_traceback(
    migrated: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(migrated, *args, stdin="login-secret-1\nconfirm-secret-2\n")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr


def test_a_bad_setting_is_reported_by_its_variable_name(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "current", env={"KINKO_PORT": "eighty"})
    assert result.returncode == 1
    assert result.stderr.startswith("kinko: error: KINKO_PORT")


def test_a_corrupt_key_file_is_one_clear_line(migrated: Path) -> None:
    (migrated / "var" / "master.key").write_text("{not json")
    result = run(migrated, "token", "issue")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "master.key" in result.stderr


def test_keys_rotate_reseals_every_seed_and_codes_still_match(migrated: Path) -> None:
    assert run(migrated, "demo").returncode == 0
    serial = run(migrated, "token", "list", "--demo").stdout.split("  ")[0]
    rotated = run(migrated, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    tokens = len(run(migrated, "token", "list").stdout.splitlines())
    assert tokens >= 2
    assert f"{tokens} seeds re-encrypted" in rotated.stdout
    status = run(migrated, "keys", "status").stdout
    assert status.count(" seeds") == 1 and "(current)" in status
    pruned = run(migrated, "keys", "prune")
    assert pruned.returncode == 0 and "dropped keys: " in pruned.stdout
    assert "none" not in pruned.stdout
    # With only the new key left, the seed still opens and gives a code.
    code = run(migrated, "token", "code", serial)
    assert code.returncode == 0, code.stderr
    assert re.match(r"\d{3} \d{3}  \(\d+ s left\)", code.stdout)


def test_api_clients_are_added_listed_rotated_and_revoked(migrated: Path) -> None:
    added = run(migrated, "api-client", "add", "ib-core", "--scope", "verify",
                "--scope", "manage")
    assert added.returncode == 0, added.stderr
    secret = re.search(r"kk_\d+_[A-Za-z0-9_-]{43}", added.stdout)
    assert secret is not None and "scopes: manage verify" in added.stdout
    listed = run(migrated, "api-client", "list")
    assert "ib-core" in listed.stdout and "active" in listed.stdout
    assert secret.group(0).split("_", 2)[2] not in listed.stdout
    rotated = run(migrated, "api-client", "rotate", "ib-core")
    new = re.search(r"kk_\d+_[A-Za-z0-9_-]{43}", rotated.stdout)
    assert new is not None and new.group(0) != secret.group(0)
    assert run(migrated, "api-client", "revoke", "ib-core").returncode == 0
    assert "revoked" in run(migrated, "api-client", "list").stdout
    again = run(migrated, "api-client", "revoke", "ib-core")
    assert again.returncode == 1 and again.stderr.startswith("kinko: error: ")
    bad = run(migrated, "api-client", "add", "x", "--scope", "root")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
