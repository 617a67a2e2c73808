"""The site's two middlewares, as plain ASGI: security headers on every response, and the
web sessions a request touched saved before its response starts.

Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
runs every request through a task group and memory streams, which cost more CPU than a
whole verification (docs/performance.md). These only look at the response's first message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinko.web.websession import WebSessions


class SecurityHeaders:
    """Add ``headers`` to every HTTP response that does not set them itself; static files
    keep their own caching (no ``Cache-Control: no-store``)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str], *,
                 cacheable_prefix: str = "/static/") -> None:
        self.app = app
        self.headers = dict(headers)
        self.cacheable = {k: v for k, v in headers.items() if k.lower() != "cache-control"}
        self.cacheable_prefix = cacheable_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = (self.cacheable if scope["path"].startswith(self.cacheable_prefix)
                  else self.headers)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PersistSessions:
    """Save the web sessions a handler loaded or changed, and set or clear their cookies,
    just before the response starts (nothing is loaded up front: see ``WebSessions``)."""

    def __init__(self, app: ASGIApp, sessions: Sequence[WebSessions]) -> None:
        self.app = app
        self.sessions = tuple(sessions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        scope.setdefault("state", {})  # the one dict the handlers' sessions are kept in

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for sessions in self.sessions:
                    await sessions.persist(scope, headers)
            await send(message)

        await self.app(scope, receive, send_with_cookies)
