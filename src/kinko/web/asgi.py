"""The web app for process managers that start several workers themselves, settings from the
``KINKO_*`` variables as for ``kinko serve`` (see docs/operations.md, "Scaling out")::

    gunicorn 'kinko.web.asgi:create()' -k uvicorn_worker.UvicornWorker -w 4 -b 0.0.0.0:8000
    uvicorn --factory kinko.web.asgi:create --workers 4 --host 0.0.0.0 --port 8000

Each worker process builds its own engine, pool and metrics when it starts.
"""

from __future__ import annotations

from fastapi import FastAPI

from kinko.bootstrap import build
from kinko.config import Settings
from kinko.store.db import SchemaState, current_revision, schema_state
from kinko.web.app import create_app


def create() -> FastAPI:
    """A worker's app. Refuses to start on a schema behind the code, like ``kinko serve``;
    a schema a newer release has expanded is fine (a rolling upgrade is under way)."""
    kinko = build(Settings())
    if schema_state(current_revision(kinko.engine)) is SchemaState.BEHIND:
        kinko.close()
        raise RuntimeError("the database schema is not up to date; run `kinko db upgrade`")
    return create_app(kinko)
