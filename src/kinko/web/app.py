"""The composition root of the web server: ``create_app`` wires one ``Kinko`` into FastAPI.

Nothing is created at import time; tests and ``kinko serve`` each build their own app.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.pool import QueuePool
from starlette.exceptions import HTTPException

from kinko import __version__, notify
from kinko.bootstrap import Kinko
from kinko.notify import MailSender
from kinko.services import audit
from kinko.web import ops, phone_app
from kinko.web.api.app import PREFIX as API_PREFIX
from kinko.web.api.app import Prefixed, create_api
from kinko.web.console import routes as console_routes
from kinko.web.console.common import CONSOLE_COOKIE, CONSOLE_IDLE_TIMEOUT, Console
from kinko.web.customer import (
    auth,
    authenticator_app,
    banking,
    enroll,
    exchange,
    menu,
    settings,
    stop,
)
from kinko.web.customer.common import Web, message_page
from kinko.web.errors import ServerErrors, site_errors
from kinko.web.middleware import PersistSessions, RequestLog, SecurityHeaders
from kinko.web.pages import make_templates
from kinko.web.routing import allow_header
from kinko.web.websession import WebSessions

log = logging.getLogger(__name__)

SEAL_INTERVAL = 2.0     # seconds between audit chain sealing passes
NOTICE_INTERVAL = 5.0   # seconds between notice delivery passes

#: The customer site's idle timeout (DESIGN: sessions live in the database).
CUSTOMER_IDLE_TIMEOUT = timedelta(minutes=10)
CUSTOMER_COOKIE = "kinko_session"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STATIC = Path(__file__).with_name("static")


def _background_work(
    kinko: Kinko, notices: MailSender | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """While the server runs: seal the audit chain every few seconds and, when given a
    sender, deliver customer notices. Both stop with the server."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _fit_threads_to_pool(kinko)
        stop = threading.Event()
        workers = [threading.Thread(target=_seal_forever, args=(kinko, stop),
                                    name="audit-sealer", daemon=True)]
        if notices is not None:
            workers.append(threading.Thread(
                target=notify.run_forever, args=(kinko, notices),
                kwargs={"interval": NOTICE_INTERVAL, "stop_event": stop},
                name="notices", daemon=True))
        for worker in workers:
            worker.start()
        try:
            yield
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=10)

    return lifespan


def _fit_threads_to_pool(kinko: Kinko) -> None:
    """Run at most as many handlers at once as the pool keeps connections. With more
    threads (anyio's default is 40), the handlers beyond the pool size open overflow
    connections and close them again as soon as they are returned: under load, a new
    PostgreSQL connection (a process fork on the server) per request."""
    size = kinko.engine.pool.size() if isinstance(kinko.engine.pool, QueuePool) else None
    if size:
        anyio.to_thread.current_default_thread_limiter().total_tokens = size


def _seal_forever(kinko: Kinko, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            audit.seal_pending(kinko.audit_trail)
        except Exception:  # a damaged chain is reported by `kinko audit verify`
            log.exception("sealing the audit chain failed")
        stop.wait(SEAL_INTERVAL)


def create_app(kinko: Kinko, *, notices: MailSender | None = None) -> FastAPI:
    """The whole site: the JSON API (its own app, handed every ``/api/`` request), the
    operations endpoints, the static files, the customer screens and the staff console."""
    app = FastAPI(title="kinko", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=_background_work(kinko, notices))
    sessions = WebSessions(
        kinko.web_sessions(realm="customer", idle_timeout=CUSTOMER_IDLE_TIMEOUT),
        cookie=CUSTOMER_COOKIE, clock=kinko.ctx.clock,
    )
    staff_sessions = WebSessions(
        kinko.web_sessions(realm="console", idle_timeout=CONSOLE_IDLE_TIMEOUT),
        cookie=CONSOLE_COOKIE, clock=kinko.ctx.clock,
    )
    app.state.kinko = kinko
    app.state.web = Web(kinko, make_templates(), sessions)
    app.state.console = Console(app.state.web, staff_sessions)

    # Plain ASGI middleware (see kinko.web.middleware); the last added runs first.
    app.add_middleware(PersistSessions, sessions=(sessions, staff_sessions))
    # Outside PersistSessions (a session save that fails is answered too), inside
    # SecurityHeaders (the maintenance page gets them): see kinko.web.errors.
    app.add_middleware(ServerErrors, respond=site_errors(
        app.state.web.templates, bank_name=kinko.settings.bank_name, json_paths=ops.PATHS))
    app.add_middleware(SecurityHeaders, headers=SECURITY_HEADERS)
    app.add_middleware(RequestLog)  # outermost: its request id is on every line

    app.router.routes.insert(0, Prefixed(API_PREFIX, create_api(kinko)))
    app.include_router(ops.router)
    app.include_router(phone_app.router)  # /app: the customer's token (PWA)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, enroll, stop, exchange, authenticator_app, banking, settings, menu,
                   console_routes):
        app.include_router(module.router)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method the path allows, not one route's
            headers.update(allow_header(app.router.routes, request.scope))
        if request.url.path in ops.PATHS:
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=headers)
        title = "ページが見つかりません。" if exc.status_code == 404 else "エラー"
        page = await run_in_threadpool(message_page, request, title=title, next_href="/",
                                       next_label="戻る", status_code=exc.status_code)
        page.headers.update(headers)
        return page

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return await run_in_threadpool(message_page, request, title="エラー",
                                       error="入力内容が正しくありません。", next_href="/",
                                       next_label="戻る", status_code=400)

    return app
