"""``make run`` on another port: the demo's banner names the port ``kinko serve`` will listen
on (KINKO_PORT), not the default one (issue 15 point 10)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import run


def test_the_demo_banner_names_the_port_and_host_the_server_will_use(tmp_path: Path) -> None:
    env = {"KINKO_PORT": "8765"}
    assert run(tmp_path, "db", "upgrade", env=env).returncode == 0
    loaded = run(tmp_path, "demo", "--if-empty", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "http://127.0.0.1:8765/login" in loaded.stdout
    assert "http://127.0.0.1:8765/console" in loaded.stdout
    assert ":8000" not in loaded.stdout
    again = run(tmp_path, "demo", "--if-empty", env=env | {"KINKO_HOST": "::1"})
    assert "http://[::1]:8765/login" in again.stdout
