"""Small helpers the SQL repositories share: plain (Core) statements on an ORM session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable, Result, Row
from sqlalchemy.exc import MultipleResultsFound
from sqlalchemy.orm import Session


def execute(session: Session, statement: Executable,
            parameters: dict[str, Any]) -> Result[Any]:
    """A plain (Core) statement on the session's connection, after a flush."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, parameters)


def read_one(session: Session, statement: Executable,
             parameters: dict[str, Any] | None = None) -> Row[Any] | None:
    """At most one row of a plain (Core) SELECT: no ORM objects are built for a read that
    only becomes a domain value. Flushes first, as an ORM query would (autoflush)."""
    rows = execute(session, statement, parameters or {}).all()
    if len(rows) > 1:
        raise MultipleResultsFound("expected at most one row")
    return rows[0] if rows else None


def rowcount(result: object) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return int(getattr(result, "rowcount", 0))
