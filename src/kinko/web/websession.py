"""Per-request access to the database-backed web session, its cookie and the CSRF check.

A middleware loads nothing up front; the first handler that asks gets the session, and
whatever it changed is saved (and the cookie set) when the response goes out.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime

import anyio.to_thread
from fastapi import Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import Scope

from kinko.services.websessions import SessionStore, WebSession


class CsrfFailed(Exception):
    """The form's CSRF token is missing or wrong."""


class WebSessions:
    """Glue between one ``SessionStore`` (a realm) and HTTP: cookie name and attributes."""

    def __init__(self, store: SessionStore, *, cookie: str,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.cookie = cookie
        self.clock = clock

    def get(self, request: Request) -> WebSession:
        key = f"websession:{self.cookie}"
        cached: WebSession | None = request.scope.setdefault("state", {}).get(key)
        if cached is not None:
            return cached
        now = self.clock()
        loaded = self.store.load(request.cookies.get(self.cookie), now)
        if loaded is None or not loaded.token:
            loaded = self.store.new(now, expired=loaded is not None and loaded.expired)
        request.scope["state"][key] = loaded
        return loaded

    def rotate(self, request: Request) -> WebSession:
        """Replace the session ID, keeping the data: called at login against fixation."""
        fresh = self.store.rotate(self.get(request), self.clock())
        request.scope["state"][f"websession:{self.cookie}"] = fresh
        return fresh

    def destroy(self, request: Request) -> None:
        self.store.destroy(self.get(request))
        request.scope["state"][f"websession:{self.cookie}"] = None

    def check_csrf(self, request: Request, submitted: str | None) -> None:
        expected = self.get(request).csrf_token
        if not submitted or not hmac.compare_digest(submitted.encode(), expected.encode()):
            raise CsrfFailed()

    async def persist(self, scope: Scope, headers: MutableHeaders) -> None:
        """Save a session touched by this request, and set its cookie when it is new (or
        clear it when the session was destroyed), into the response's ``headers``."""
        state = scope.get("state") or {}
        key = f"websession:{self.cookie}"
        if key not in state:
            return  # this request never asked for the session
        session: WebSession | None = state[key]
        cookie = Response()
        if session is None:
            cookie.delete_cookie(self.cookie, path="/")
        else:
            await anyio.to_thread.run_sync(self.store.save, session, self.clock())
            if session.issued:
                cookie.set_cookie(self.cookie, session.token, httponly=True, samesite="lax",
                                  path="/", secure=scope.get("scheme") == "https")
        for name, value in cookie.raw_headers:
            if name == b"set-cookie":
                headers.append("set-cookie", value.decode("latin-1"))
