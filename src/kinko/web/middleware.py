"""The site's middlewares, as plain ASGI: a request id and an access-log line per request,
security headers on every response, and the web sessions a request touched saved before its
response starts.

Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
runs every request through a task group and memory streams, which cost more CPU than a
whole verification (docs/performance.md). These only look at the response's first message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinko.domain.masking import mask_contract_id, mask_serial
from kinko.logs import FIELDS, accept_request_id, request_id_var
from kinko.web.websession import WebSessions

access_log = logging.getLogger("kinko.access")


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


class RequestLog:
    """Give each HTTP request an id (a sane incoming ``X-Request-ID``, else a new one) that
    every log line of the request carries and the response echoes, and log one access line
    when it ends: method, route template, status, duration, client address.

    The route is the matched route's template (``/api/v1/customers/{contract_id}``), never
    the raw path, and never the query string; of the path parameters only the contract ID
    and the serial are logged, masked.
    """

    def __init__(self, app: ASGIApp, *, header: str = "X-Request-ID") -> None:
        self.app = app
        self.header = header
        self.raw_header = header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = next((value for name, value in scope["headers"]
                         if name == self.raw_header), None)
        request_id = accept_request_id(incoming)
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[self.header] = request_id
            await send(message)

        token = request_id_var.set(request_id)
        failed: str | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as error:  # logged here with the request's id, then re-raised
            failed = type(error).__name__
            raise
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("request", extra={FIELDS: _access_fields(
                    scope, status, started, failed)})
            request_id_var.reset(token)


def _access_fields(scope: Scope, status: int | None, started: float,
                   failed: str | None) -> dict[str, Any]:
    client = scope.get("client")
    fields: dict[str, Any] = {
        "method": scope["method"],
        "route": getattr(scope.get("route"), "path", None),
        "status": status if status is not None else 500,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "client": client[0] if client else None,
    }
    params = scope.get("path_params") or {}
    if isinstance(params.get("contract_id"), str):
        fields["contract_id"] = mask_contract_id(params["contract_id"])
    if isinstance(params.get("serial"), str):
        fields["serial"] = mask_serial(params["serial"])
    if failed is not None:
        fields["error"] = failed
    return fields
