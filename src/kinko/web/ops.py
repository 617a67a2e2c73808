"""Operations endpoints: /healthz (liveness with the schema check) for load balancers.

Monitoring (/metrics, /readyz) is added here too.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from kinko import __version__
from kinko.store.db import current_revision, head_revision

router = APIRouter()


@router.get("/healthz")
def health(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is the newest this code knows."""
    kinko = request.app.state.kinko
    try:
        with kinko.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, head = current_revision(kinko.engine), head_revision(kinko.engine)
    except Exception:  # any database failure means "not ready"
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    ok = current == head
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "database": "ok",
         "schema": current, "expected_schema": head, "version": __version__},
        200 if ok else 503,
    )
