"""The web app for process managers that start several workers themselves, settings from the
``KINKO_*`` variables as for ``kinko serve`` (see docs/operations.md, "Scaling out")::

    gunicorn 'kinko.web.asgi:create()' -k uvicorn_worker.UvicornWorker -w 4 -b 0.0.0.0:8000
    uvicorn --factory kinko.web.asgi:create --workers 4 --host 0.0.0.0 --port 8000

Each worker process builds its own engine, pool and metrics when it starts, and sends its
log to stderr as ``KINKO_LOG_FORMAT`` says; turn the server's own access log off
(``--no-access-log``): it prints raw paths and query strings, ``kinko.access`` does not.
"""

from __future__ import annotations

from fastapi import FastAPI

from kinko.bootstrap import build
from kinko.config import Settings
from kinko.logs import configure
from kinko.web.app import create_app


def create() -> FastAPI:
    """A worker's app. Refuses to start on a schema behind the code, like ``kinko serve``;
    a schema a newer release has expanded is fine (a rolling upgrade is under way)."""
    settings = Settings()
    configure(settings.log_level, settings.log_format)
    kinko = build(settings)
    if not kinko.health.schema().serves:
        kinko.close()
        raise RuntimeError("the database schema is not up to date; run `kinko db upgrade`")
    return create_app(kinko)
