"""Backups: a ``pg_dump`` of the database restored with ``pg_restore`` into a new database
serves again — with the key file, which is backed up apart — as docs/operations.md says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kinko.bootstrap import build
from kinko.config import Settings
from kinko.domain.errors import ReplayedCode
from kinko.services import audit, transactions
from kinko.services.passwords import Argon2Hasher
from kinko.store.db import make_engine, normalize_url, upgrade
from kinko.store.keyring import Keyring
from kinko.store.seedbox import SeedBox
from kinko.web.app import create_app
from tests.databases import empty_database
from tests.support import FakeClock, Harness

pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]


def _libpq(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return normalize_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(*command: str) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        pytest.fail(f"{command[0]} is missing: install PostgreSQL's client programs")
    subprocess.run([tool, *command[1:]], check=True, capture_output=True, timeout=120)  # noqa: S603 - fixed programs


def test_a_restored_dump_serves_the_same_tokens_with_the_key_file_kept_apart(
    database_url: str, tmp_path: Path,
) -> None:
    key_file = tmp_path / "secrets" / "master.key"
    keyring, _ = Keyring.load_or_create(key_file)
    dump = tmp_path / "kinko.dump"
    with empty_database(database_url, tmp_path) as live_url:
        engine = make_engine(live_url)
        upgrade(engine)
        clock = FakeClock()
        live = Harness(build(Settings(_env_file=None, database_url=live_url), engine=engine,
                             seedbox=SeedBox(keyring, key_file=key_file),
                             hasher=Argon2Hasher.fast_for_tests(), clock=clock), clock)
        customer = live.customer()
        issued = live.enroll(customer)
        audit.seal_all(live.kinko.audit_trail)
        head = audit.verify(live.kinko.audit_trail)
        assert head.ok and head.head_seq > 0
        _run("pg_dump", "--format=custom", f"--file={dump}", _libpq(live_url))
        live.kinko.close()

    with empty_database(database_url, tmp_path) as restored_url:
        _run("pg_restore", "--no-owner", f"--dbname={_libpq(restored_url)}", str(dump))
        restored = build(Settings(_env_file=None, database_url=restored_url),
                         seedbox=SeedBox(Keyring.load(key_file), key_file=key_file),
                         hasher=Argon2Hasher.fast_for_tests(), clock=live.clock)
        without_key = build(Settings(_env_file=None, database_url=restored_url),
                            engine=restored.engine, seedbox=SeedBox(Keyring.generate()))
        try:
            report = audit.verify(restored.audit_trail)
            assert report.ok, report.problems
            assert (report.head_seq, report.head_hash) == (head.head_seq, head.head_hash)
            assert TestClient(create_app(restored)).get("/readyz").status_code == 200
            assert TestClient(create_app(without_key)).get("/readyz").status_code == 503
            # The token still works: its seed opens, and its spent step came back with it.
            with pytest.raises(ReplayedCode):
                transactions.authorize(restored.ctx, customer.id, purpose="transfer",
                                       code=live.code(issued, steps=-1))   # used at 利用開始
            transactions.authorize(restored.ctx, customer.id, purpose="transfer",
                                   code=live.code(issued))
        finally:
            restored.close()
