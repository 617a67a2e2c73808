"""Engines for SQLite (embedded default) and PostgreSQL (production), and migrations.

SQLite transactions start with BEGIN IMMEDIATE so that writers queue instead of failing.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, select
from sqlalchemy.engine import URL

from kinko.services.health import SchemaState, SchemaStatus
from kinko.store.rows import TokenRow

MIGRATIONS = Path(__file__).with_name("migrations")


def normalize_url(url: str) -> URL:
    """Accept ``postgresql://`` as well as ``postgresql+psycopg://``; psycopg 3 is the driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


#: SQLAlchemy's own defaults, which ``Settings.db_pool_size`` / ``db_max_overflow`` repeat.
POOL_SIZE = 5
MAX_OVERFLOW = 10


#: libpq connection parameters for PostgreSQL unless the URL sets them (``?connect_timeout=2``).
#: Without a connect timeout, a request waits as long as the kernel keeps trying to reach a
#: database host that does not answer (minutes); with it, the request fails in seconds and
#: is answered 503 (kinko.web.errors). The keepalives notice a connection whose peer
#: vanished (a fail-over, a cut network) within about a minute instead of hours.
POSTGRESQL_CONNECT_ARGS: dict[str, int] = {
    "connect_timeout": 5,
    "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
}


def make_engine(url: str, *, echo: bool = False, pool_size: int = POOL_SIZE,
                max_overflow: int = MAX_OVERFLOW) -> Engine:
    """An engine for ``url``; the pool sizes apply to PostgreSQL (SQLite has one writer).

    PostgreSQL connections are checked before each use (``pool_pre_ping``): after a database
    restart, the pool's dead connections are discarded and replaced on their next checkout,
    and a connection that fails under a statement makes SQLAlchemy invalidate every
    connection the pool opened before it. So the pool recovers by itself once the database
    is back; no restart of kinko is needed (tests/integration/test_outage.py)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo=echo)
    connect_args = {k: v for k, v in POSTGRESQL_CONNECT_ARGS.items() if k not in parsed.query}
    return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=pool_size,
                         max_overflow=max_overflow, connect_args=connect_args)


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    if url.database and url.database != ":memory:":
        # The database holds sealed seeds and password hashes: keep its folder private.
        Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the only way kinko creates tables)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """The newest migration this code has (the schema the code expects)."""
    return _migrations()[0]


def schema_state(current: str | None) -> SchemaState:
    """Where ``current`` (see ``current_revision``) stands. A schema ahead of the code is
    what an older server sees during a rolling upgrade, once `kinko db upgrade` has added
    what the new release needs; migrations only expand in the release that adds them (see
    docs/operations.md), so the older code still works on it."""
    head, known = _migrations()
    if current == head:
        return SchemaState.CURRENT
    if current is None or current in known:
        return SchemaState.BEHIND
    return SchemaState.AHEAD


class SqlDatabaseHealth:
    """``DatabaseHealth`` (kinko.services.health) for one engine: what /readyz and the worker
    factory ask the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def expected_schema(self) -> str | None:
        return head_revision(self._engine)

    def schema(self) -> SchemaStatus:
        current = current_revision(self._engine)
        return SchemaStatus(current=current, expected=head_revision(self._engine),
                            state=schema_state(current))

    def newest_seed_key_id(self) -> str | None:
        with self._engine.connect() as connection:
            found: str | None = connection.execute(
                select(TokenRow.seed_key_id).order_by(TokenRow.id.desc()).limit(1)
            ).scalar_one_or_none()
        return found


@functools.cache
def _migrations() -> tuple[str | None, frozenset[str]]:
    """The head and every revision of this code's migrations.

    Read once per process: the migrations are part of the code, which does not change while
    it runs, and reading them costs ~10 ms (a readiness probe asks every few seconds).
    """
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())
