"""``kinko-token`` activates with the server it was installed for, or the one this device
already uses, without being told each time (issue 15 point 10)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kinko_token.tokens import DEFAULT_SERVER
from kinko_token.vault import ENV_SERVER, Pin, VaultFile

from .conftest import PIN, new_seed, token_info

COMMAND = [sys.executable, "-m", "kinko_token"]


def _closed_server() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def activate(data_dir: Path, **env: str) -> str:
    """Run ``kinko-token activate --pin-stdin`` without --server; its one error line."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_TOKEN_")}
    environment |= {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", **env}
    done = subprocess.run(  # noqa: S603  # our own module, fixed arguments
        [*COMMAND, "--data-dir", str(data_dir), "activate", "--pin-stdin"],
        input=PIN, capture_output=True, text=True, env=environment, timeout=60, check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_activate_uses_the_server_the_installation_names(data_dir: Path) -> None:
    server = _closed_server()
    assert f"cannot reach the server {server}" in activate(data_dir, **{ENV_SERVER: server})


def test_activate_uses_the_server_of_the_tokens_already_on_this_device(data_dir: Path) -> None:
    server = _closed_server()
    vault = VaultFile(data_dir).create(Pin(PIN))
    vault.add(token_info(server=server), new_seed())
    assert f"cannot reach the server {server}" in activate(data_dir)


def test_default_server_order(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_SERVER, raising=False)
    file = VaultFile(data_dir)
    assert file.default_server() is None  # nothing known: the command asks, or uses
    assert DEFAULT_SERVER == "http://127.0.0.1:8000"  # the demo's, without a terminal
    vault = file.create(Pin(PIN))
    old, new = token_info(server="https://old.example.jp"), token_info(
        server="https://ib.example.jp")
    vault.add(old, new_seed())
    vault.add(new, new_seed())
    assert file.default_server() == "https://ib.example.jp"
    monkeypatch.setenv(ENV_SERVER, "https://bank.example.jp")
    assert file.default_server() == "https://bank.example.jp"
