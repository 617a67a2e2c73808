"""Web sessions (``kinko.services.websessions``) in the database, so that any server process
can serve the next request.

The cookie holds a random token; the table holds only its SHA-256, the CSRF token and data.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from kinko.services.websessions import WebSession
from kinko.store.rows import WebSessionRow

TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class SqlSessionStore:
    """``SessionStore`` in the ``web_sessions`` table, for one realm."""

    def __init__(self, engine: Engine, *, realm: str, idle_timeout: timedelta) -> None:
        self._engine = engine
        self.realm = realm
        self.idle_timeout = idle_timeout

    def new(self, now: datetime, *, expired: bool = False) -> WebSession:
        session = WebSession(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            realm=self.realm,
            csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
            created_at=now,
            last_seen_at=now,
            expired=expired,
            issued=True,
        )
        with Session(self._engine) as db, db.begin():
            db.execute(insert(WebSessionRow).values(
                id_hash=_digest(session.token), realm=self.realm,
                csrf_token=session.csrf_token, data="{}", created_at=now, last_seen_at=now,
            ))
            # Housekeeping rides along with creation: sessions idle past the timeout go.
            db.execute(delete(WebSessionRow).where(
                WebSessionRow.last_seen_at < now - self.idle_timeout * 6))
        return session

    def load(self, token: str | None, now: datetime) -> WebSession | None:
        """The live session for this cookie, or None (unknown, other realm, or idle too long;
        ``expired`` on the returned new session tells the last case apart)."""
        if not token or len(token) > 100:
            return None
        with Session(self._engine) as db, db.begin():
            row = db.execute(
                select(WebSessionRow).where(WebSessionRow.id_hash == _digest(token))
            ).scalar_one_or_none()
            if row is None or row.realm != self.realm:
                return None
            if now - row.last_seen_at > self.idle_timeout:
                db.delete(row)
                return WebSession(token="", realm=self.realm, csrf_token="", created_at=now,
                                  last_seen_at=now, expired=True)
            return WebSession(
                token=token, realm=row.realm, csrf_token=row.csrf_token,
                created_at=row.created_at, last_seen_at=row.last_seen_at,
                data=json.loads(row.data),
            )

    def save(self, session: WebSession, now: datetime) -> None:
        with Session(self._engine) as db, db.begin():
            db.execute(
                update(WebSessionRow)
                .where(WebSessionRow.id_hash == _digest(session.token))
                .values(data=json.dumps(session.data, ensure_ascii=False), last_seen_at=now)
            )

    def rotate(self, session: WebSession, now: datetime) -> WebSession:
        """A new token and CSRF token for the same data (at login: no session fixation)."""
        fresh = WebSession(
            token=secrets.token_urlsafe(TOKEN_BYTES), realm=self.realm,
            csrf_token=secrets.token_urlsafe(TOKEN_BYTES), created_at=now, last_seen_at=now,
            data=dict(session.data), issued=True,
        )
        with Session(self._engine) as db, db.begin():
            db.execute(delete(WebSessionRow).where(
                WebSessionRow.id_hash == _digest(session.token)))
            db.execute(insert(WebSessionRow).values(
                id_hash=_digest(fresh.token), realm=self.realm, csrf_token=fresh.csrf_token,
                data=json.dumps(fresh.data, ensure_ascii=False), created_at=now,
                last_seen_at=now,
            ))
        return fresh

    def destroy(self, session: WebSession) -> None:
        with Session(self._engine) as db, db.begin():
            db.execute(delete(WebSessionRow).where(
                WebSessionRow.id_hash == _digest(session.token)))
