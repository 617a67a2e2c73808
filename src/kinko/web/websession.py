"""Per-request access to the database-backed web session, its cookie and the CSRF check.

A middleware loads nothing up front; the first handler that asks gets the session, and
whatever it changed is saved (and the cookie set) when the response goes out.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime

import anyio.to_thread
from fastapi import Request, Response

from kinko.store.sessions import SessionStore, WebSession


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

    async def persist(self, request: Request, response: Response) -> None:
        """Save a session touched by this request and set its cookie when it is new."""
        session: WebSession | None = request.scope.get("state", {}).get(
            f"websession:{self.cookie}")
        if session is None:
            if f"websession:{self.cookie}" in request.scope.get("state", {}):
                response.delete_cookie(self.cookie, path="/")
            return
        await anyio.to_thread.run_sync(self.store.save, session, self.clock())
        if session.issued:
            response.set_cookie(
                self.cookie, session.token, httponly=True, samesite="lax", path="/",
                secure=request.url.scheme == "https",
            )

    def middleware(
        self,
    ) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
        async def persist_session(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            response = await call_next(request)
            await self.persist(request, response)
            return response

        return persist_session
