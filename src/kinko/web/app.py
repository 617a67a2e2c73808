"""The composition root of the web server: ``create_app`` wires one ``Kinko`` into FastAPI.

Nothing is created at import time; tests and ``kinko serve`` each build their own app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

from kinko import __version__
from kinko.bootstrap import Kinko
from kinko.store.db import current_revision, head_revision

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_HOME = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{bank} インターネットバンキング</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>{bank} インターネットバンキング</h1>
<p>ワンタイムパスワードサーバー (kinko {version}) は稼働しています。</p>
<p lang="en">The kinko one-time-password server is running.
The customer screens arrive with the next release.</p>
</body></html>"""


def create_app(kinko: Kinko) -> FastAPI:
    app = FastAPI(title="kinko", version=__version__, docs_url=None, redoc_url=None)
    app.state.kinko = kinko

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return _HOME.format(bank=kinko.settings.bank_name, version=__version__)

    @app.get("/healthz")
    def health() -> JSONResponse:
        """Ready when the database answers and its schema is the newest this code knows."""
        try:
            with kinko.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            current, head = current_revision(kinko.engine), head_revision(kinko.engine)
        except Exception:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        ok = current == head
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "database": "ok",
             "schema": current, "expected_schema": head, "version": __version__},
            200 if ok else 503,
        )

    return app
