"""Benchmark databases: create one (SQLite file or PostgreSQL database), migrate it with
kinko's own migrations, and bulk-load N customers each with one active token.

Seeds are sealed with kinko's ``SeedBox`` under the run's master key, exactly as kinko stores
them, and written with one ``COPY`` (PostgreSQL) or ``executemany`` (SQLite): loading a
million tokens over HTTP would take longer than the benchmark itself.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import contract_id_of, seed_of, serial_of
from kinko.domain.secrets import Password, Seed
from kinko.services.passwords import Argon2Hasher
from kinko.store.db import make_engine, normalize_url, upgrade
from kinko.store.keyring import Keyring
from kinko.store.seedbox import SeedBox

DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 20_000


@dataclass
class Database:
    kind: str          # "sqlite" | "postgresql"
    url: str           # the SQLAlchemy URL kinko is given
    name: str          # file path or database name
    admin_url: str | None = None

    def drop(self) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(self.name + suffix).unlink(missing_ok=True)
            return
        admin = create_engine(normalize_url(self.admin_url or DEFAULT_POSTGRESQL),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()


def create_database(kind: str, *, workdir: Path, label: str,
                    server_url: str = DEFAULT_POSTGRESQL) -> Database:
    """An empty database named after ``label`` and this run, migrated to kinko's head."""
    suffix = secrets.token_hex(3)
    if kind == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"bench_{label}_{suffix}.db"
        database = Database("sqlite", f"sqlite:///{path}", str(path))
    else:
        name = f"kinko_bench_{label}_{suffix}"
        admin = create_engine(normalize_url(server_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = normalize_url(server_url).set(database=name).render_as_string(hide_password=False)
        database = Database("postgresql", url, name, admin_url=server_url)
    engine = make_engine(database.url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return database


_CUSTOMER_COLUMNS = (
    "id", "contract_id", "name", "email", "login_password_hash", "login_failures",
    "confirmation_password_hash", "confirmation_failures", "login_otp_required", "created_at",
)
_TOKEN_COLUMNS = (
    "id", "serial", "state", "customer_id", "origin", "algorithm", "digits", "period", "t0",
    "seed_key_id", "seed_nonce", "seed_ciphertext", "drift", "failures", "created_at",
    "bound_at", "state_changed_at",
)


def _rows(first: int, last: int, box: SeedBox, password_hash: str, now: object):
    customers, tokens = [], []
    for i in range(first, last + 1):
        serial = serial_of(i)
        sealed = box.seal(serial, Seed(seed_of(serial)))
        customers.append((i, contract_id_of(i), f"ベンチ {i}", None, password_hash, 0,
                          password_hash, 0, True, now))
        tokens.append((i, serial, "active", i, "issued", "SHA1", 6, 30, 0, sealed.key_id,
                       sealed.nonce, sealed.ciphertext, 0, 0, now, now, now))
    return customers, tokens


def load_tokens(database: Database, count: int, master_key: str,
                progress: bool = True) -> float:
    """Insert ``count`` customers and their active tokens; the seconds it took."""
    started = time.perf_counter()
    box = SeedBox(Keyring.from_env_value(master_key))
    # One real argon2id hash shared by every bench customer: the verify path never reads it.
    password_hash = Argon2Hasher.fast_for_tests().hash(Password(secrets.token_urlsafe(12)))
    now = datetime.now(UTC).replace(tzinfo=None)
    if database.kind == "sqlite":
        _load_sqlite(database, count, box, password_hash, now)
    else:
        _load_postgresql(database, count, box, password_hash, now)
    seconds = time.perf_counter() - started
    if progress:
        print(f"  loaded {count:,} tokens into {database.kind} in {seconds:.1f} s", flush=True)
    return seconds


def _load_sqlite(database: Database, count: int, box: SeedBox, password_hash: str,
                 now: datetime) -> None:
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DateTime format
    connection = sqlite3.connect(database.name)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = OFF")  # a bulk load; kinko's own is NORMAL
        customers_sql = (f"INSERT INTO customers ({', '.join(_CUSTOMER_COLUMNS)}) "
                         f"VALUES ({', '.join('?' * len(_CUSTOMER_COLUMNS))})")
        tokens_sql = (f"INSERT INTO tokens ({', '.join(_TOKEN_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(_TOKEN_COLUMNS))})")
        for first in range(1, count + 1, BATCH):
            customers, tokens = _rows(first, min(first + BATCH - 1, count), box,
                                      password_hash, stamp)
            with connection:
                connection.executemany(customers_sql, customers)
                connection.executemany(tokens_sql, tokens)
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _load_postgresql(database: Database, count: int, box: SeedBox, password_hash: str,
                     now: datetime) -> None:
    import psycopg

    plain = normalize_url(database.url).set(drivername="postgresql")
    with psycopg.connect(plain.render_as_string(hide_password=False)) as connection:
        with connection.cursor() as cursor:
            for first in range(1, count + 1, BATCH):
                customers, tokens = _rows(first, min(first + BATCH - 1, count), box,
                                          password_hash, now)
                with cursor.copy(f"COPY customers ({', '.join(_CUSTOMER_COLUMNS)}) "
                                 "FROM STDIN") as copy:
                    for row in customers:
                        copy.write_row(row)
                with cursor.copy(f"COPY tokens ({', '.join(_TOKEN_COLUMNS)}) "
                                 "FROM STDIN") as copy:
                    for row in tokens:
                        copy.write_row(row)
            # Explicit ids were written: move the sequences past them.
            for table in ("customers", "tokens"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))")
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE customers")
        connection.execute("VACUUM ANALYZE tokens")
