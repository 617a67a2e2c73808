"""Every store-backed test runs on SQLite and, when it answers, on PostgreSQL.

PostgreSQL: ``KINKO_TEST_DATABASE_URL`` (a server URL to create databases on) or the local
server on 127.0.0.1:5432. Each run creates a fresh database and drops it afterwards. With
``CI=true`` (or ``KINKO_TEST_REQUIRE_POSTGRESQL=1``) a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from kinko.store.db import make_engine, normalize_url, upgrade
from kinko.store.rows import Base
from tests.support import Harness, make_harness

DEFAULT_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _require_postgresql() -> bool:
    return (os.environ.get("CI", "").lower() == "true"
            or os.environ.get("KINKO_TEST_REQUIRE_POSTGRESQL") == "1")


def _postgresql_server() -> str | None:
    url = os.environ.get("KINKO_TEST_DATABASE_URL", DEFAULT_POSTGRESQL)
    try:
        engine = create_engine(normalize_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure means "not available"
        if _require_postgresql():
            pytest.exit(f"PostgreSQL is required here but did not answer at {url}: {error}", 3)
        return None
    return url


def pytest_configure(config: pytest.Config) -> None:
    server = _postgresql_server()
    config.stash[_SERVER] = server
    config.stash[_BACKENDS] = ["sqlite", "postgresql"] if server else ["sqlite"]


_SERVER = pytest.StashKey[str | None]()
_BACKENDS = pytest.StashKey[list[str]]()


def pytest_report_header(config: pytest.Config) -> str:
    return "kinko backends: " + ", ".join(config.stash[_BACKENDS])


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    terminalreporter.write_line("kinko backends run: " + ", ".join(config.stash[_BACKENDS]))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = metafunc.config.stash[_BACKENDS]
        if metafunc.definition.get_closest_marker("postgresql_only"):
            backends = [b for b in backends if b == "postgresql"]
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory,
                 request: pytest.FixtureRequest) -> Iterator[str]:
    """A freshly migrated database for this run, dropped afterwards."""
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "kinko.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    server = request.config.stash[_SERVER]
    assert server is not None
    name = f"kinko_test_{secrets.token_hex(4)}"
    admin = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_url(server).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_engine(engine: Engine) -> Iterator[Engine]:
    """The session's engine, emptied after the test so tests never see each other's rows."""
    yield engine
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def harness(clean_engine: Engine) -> Harness:
    return make_harness(clean_engine)
