"""A second, empty database beside the session's one, on the same backend: for tests that
need a schema other than the current one, or whole servers of their own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from kinko.store.db import normalize_url


@contextmanager
def empty_database(beside: str, directory: Path) -> Iterator[str]:
    """The URL of a new database with no tables, on the server of ``beside`` (PostgreSQL:
    created there and dropped afterwards) or a new file in ``directory`` (SQLite)."""
    url = normalize_url(beside)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{directory / f'empty-{secrets.token_hex(4)}.db'}"
        return
    name = f"kinko_test_{secrets.token_hex(4)}"
    # Any database of the server will do to create another one.
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
