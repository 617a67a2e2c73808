"""The ``kinko-token`` command run as a real process: codes, listing, switching, removing, and
one clean error line (never a traceback) for every failure."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from kinko.domain.otp import TotpParameters
from kinko.domain.secrets import Seed
from kinko.domain.serials import format_serial
from kinko_token.tokens import TokenInfo, group_code
from kinko_token.vault import Pin, VaultFile

from .conftest import PIN, new_seed, token_info

COMMAND = [sys.executable, "-m", "kinko_token"]


@dataclass
class Run:
    code: int
    out: str
    err: str


def kinko_token(data_dir: Path, *args: str, stdin: str = "") -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_TOKEN_")}
    # Never the real keyring of the machine running the tests.
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    done = subprocess.run(  # noqa: S603  # our own module, fixed arguments
        [*COMMAND, "--data-dir", str(data_dir), *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


def assert_one_error_line(run: Run, *fragments: str) -> None:
    assert run.code == 1
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("kinko-token: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def two_tokens(data_dir: Path) -> tuple[list[TokenInfo], list[Seed]]:
    """A PIN-protected file with an old and a new token (the new one current)."""
    vault = VaultFile(data_dir).create(Pin(PIN))
    infos, seeds = [token_info(), token_info()], [new_seed(), new_seed()]
    for info, seed in zip(infos, seeds, strict=True):
        vault.add(info, seed)
    return infos, seeds


def _codes_around_now(seed: Seed, before: float) -> set[str]:
    params = TotpParameters()
    return {params.code_at(seed.reveal(), at) for at in (before, time.time())}


def test_code_prints_the_current_code_and_serial(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    infos, seeds = two_tokens
    before = time.time()
    run = kinko_token(data_dir, "code", "--pin-stdin", stdin=f"{PIN}\n")

    assert run.code == 0, run.err
    code, rest = run.out.split("  (", 1)
    assert code in {group_code(c) for c in _codes_around_now(seeds[1], before)}
    assert rest.rstrip().endswith(f"s left)  serial {format_serial(infos[1].serial)}")


def test_code_json_for_a_chosen_serial(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    infos, seeds = two_tokens
    typed = format_serial(infos[0].serial).replace(" ", "-")  # as a customer might type it
    before = time.time()
    run = kinko_token(data_dir, "code", "--json", "--serial", typed, "--pin-stdin",
                      stdin=f"{PIN}\n")

    assert run.code == 0, run.err
    answer = json.loads(run.out)
    assert set(answer) == {"code", "seconds_left", "serial"}
    assert answer["serial"] == infos[0].serial
    assert answer["code"] in _codes_around_now(seeds[0], before)
    assert 1 <= answer["seconds_left"] <= 30


def test_list_marks_the_current_token_without_asking_for_the_pin(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    infos, _ = two_tokens
    run = kinko_token(data_dir, "list")

    assert run.code == 0, run.err
    old, new = run.out.splitlines()
    assert old.startswith(f"  {format_serial(infos[0].serial)}  http://127.0.0.1:8000")
    assert new.startswith(f"* {format_serial(infos[1].serial)}")
    assert "activated 2026-11-26" in new


def test_use_makes_another_token_current(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    infos, _ = two_tokens
    run = kinko_token(data_dir, "use", infos[0].serial)

    assert run.code == 0, run.err
    assert format_serial(infos[0].serial) in run.out
    assert kinko_token(data_dir, "list").out.splitlines()[0].startswith("* ")
    run = kinko_token(data_dir, "code", "--json", "--pin-stdin", stdin=PIN)
    assert json.loads(run.out)["serial"] == infos[0].serial


def test_remove_deletes_a_token(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    infos, _ = two_tokens
    run = kinko_token(data_dir, "remove", format_serial(infos[1].serial))

    assert run.code == 0, run.err
    listing = kinko_token(data_dir, "list").out.splitlines()
    assert listing == [listing[0]] and listing[0].startswith(f"* {format_serial(infos[0].serial)}")
    assert_one_error_line(kinko_token(data_dir, "use", infos[1].serial), "no token with serial")


def test_list_with_no_file_says_there_are_no_tokens(data_dir: Path) -> None:
    run = kinko_token(data_dir, "list")
    assert run.code == 0 and "no tokens" in run.out


def test_a_wrong_pin_is_one_clean_line(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    assert_one_error_line(
        kinko_token(data_dir, "code", "--pin-stdin", stdin="1357\n"), "PINが正しくありません"
    )


def test_no_pin_on_a_pipe_is_one_clean_line(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    assert_one_error_line(kinko_token(data_dir, "code"), "--pin-stdin")
    assert_one_error_line(kinko_token(data_dir, "code", "--pin-stdin"), "no PIN")


def test_a_damaged_file_is_one_clean_line(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    (data_dir / "tokens.json").write_text('{"format": "kinko-token", "version": 1, "tok')
    assert_one_error_line(kinko_token(data_dir, "code", "--pin-stdin", stdin=PIN), "damaged")
    assert_one_error_line(kinko_token(data_dir, "list"), "damaged")


def test_a_file_open_to_others_is_one_clean_line(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    (data_dir / "tokens.json").chmod(0o644)
    assert_one_error_line(kinko_token(data_dir, "list"), "chmod 600")


def test_a_malformed_serial_is_one_clean_line(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    assert_one_error_line(kinko_token(data_dir, "use", "1234"), "serial")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_activate_against_an_unreachable_server_is_one_clean_line(data_dir: Path) -> None:
    server = f"http://127.0.0.1:{_closed_port()}"
    run = kinko_token(data_dir, "activate", "--server", server, "--pin-stdin", stdin=PIN)

    assert_one_error_line(run, "cannot reach the server", server)
    assert not (data_dir / "tokens.json").exists()  # nothing written for a failed activation


def test_activate_without_keyring_or_pin_fails_before_the_network(data_dir: Path) -> None:
    run = kinko_token(data_dir, "activate", "--server", "http://127.0.0.1:9")
    assert_one_error_line(run, "--pin-stdin")


def test_activate_with_a_bad_pin_or_url_is_one_clean_line(data_dir: Path) -> None:
    assert_one_error_line(
        kinko_token(data_dir, "activate", "--pin-stdin", stdin="12\n"), "4 to 12 digits"
    )
    assert_one_error_line(
        kinko_token(data_dir, "activate", "--server", "http://ib.example.jp", "--pin-stdin",
                    stdin=PIN),
        "https",
    )


def test_the_data_directory_can_come_from_the_environment(
    data_dir: Path, two_tokens: tuple[list[TokenInfo], list[Seed]]
) -> None:
    env = {**os.environ, "KINKO_TOKEN_DATA_DIR": str(data_dir),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    done = subprocess.run(  # noqa: S603  # our own module, fixed arguments
        [*COMMAND, "list"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 2


def test_the_installed_script_and_python_m_agree(data_dir: Path) -> None:
    script = Path(sys.executable).with_name("kinko-token")
    if not script.exists():
        pytest.skip("the kinko-token script is not installed in this environment")
    done = subprocess.run(  # noqa: S603  # our own script, fixed arguments
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("kinko-token ")
