"""The web session a browser holds, and the port that keeps sessions: ``kinko.store.sessions``
implements it in the database, so that any server process can serve the next request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass
class WebSession:
    """One browser's session. ``token`` goes into the cookie and nowhere else."""

    token: str
    realm: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    #: True when the previous session of this browser had timed out.
    expired: bool = False
    #: True when the cookie must be (re)sent: a new or rotated session.
    issued: bool = False


class SessionStore(Protocol):
    """The sessions of one realm (the customer site or the staff console), each ending after
    the store's idle timeout. Only the store sees how a token is kept (never in clear)."""

    def new(self, now: datetime, *, expired: bool = False) -> WebSession:
        """A fresh session, stored; ``expired`` tells the screens the last one timed out."""
        ...

    def load(self, token: str | None, now: datetime) -> WebSession | None:
        """The live session for this cookie, or None (unknown, other realm); one idle too
        long is ended and answered with an empty session whose ``expired`` is set."""
        ...

    def save(self, session: WebSession, now: datetime) -> None:
        """Keep the session's data and note that it was used at ``now``."""
        ...

    def rotate(self, session: WebSession, now: datetime) -> WebSession:
        """A new token and CSRF token for the same data (at login: no session fixation)."""
        ...

    def destroy(self, session: WebSession) -> None: ...
