"""Operations endpoints for load balancers and monitoring: /healthz (alive), /readyz (can
serve traffic) and /metrics (Prometheus). Serve them on the internal network only.

- ``/healthz`` answers from the event loop without touching the database: a restart is the
  cure only for a stuck process, never for a database outage.
- ``/readyz`` is 200 only when this process can serve a customer: the database answers, its
  schema is not behind this code's migrations, and the seed keys open the stored seeds.
"""

from __future__ import annotations

import logging

import anyio
import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from kinko import __version__
from kinko.bootstrap import Kinko
from kinko.domain.secrets import Seed
from kinko.metrics import CONTENT_TYPE, PrometheusMetrics
from kinko.services.health import SchemaStatus
from kinko.web.errors import database_unavailable

log = logging.getLogger(__name__)

router = APIRouter()

#: The paths served here (errors on them are answered in JSON, not as customer pages).
PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# Sealed and opened again by each readiness check; never stored.
_PROBE_SERIAL = "000000000000"
_PROBE_SEED = Seed(bytes(20))


@router.get("/healthz")
async def health() -> JSONResponse:
    """Liveness: the process is up and its event loop answers."""
    return JSONResponse({"status": "ok", "version": __version__})


#: Seconds /readyz waits for its checks before answering 503: a probe that hangs is as good
#: as "not ready", and load balancers give up on slow probes anyway.
READY_TIMEOUT = 3.0


@router.get("/readyz")
async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 when the database answers, its schema is this code's (or a newer
    release's, during a rolling upgrade) and the seed keys work; 503 otherwise, saying which
    check failed (never why: that goes to the log).

    The checks run in a thread of their own (not one the handlers share: during an outage
    they may all be waiting for the database) and get ``READY_TIMEOUT`` seconds; a check
    still waiting then (a connect timeout, a pool with no connection) is left to finish
    alone and the answer is 503 ``"database": "timeout"``."""
    kinko: Kinko = request.app.state.kinko
    report: tuple[dict[str, object], bool] | None = None
    with anyio.move_on_after(READY_TIMEOUT):
        report = await anyio.to_thread.run_sync(
            _readiness, kinko, abandon_on_cancel=True, limiter=anyio.CapacityLimiter(1))
    if report is None:
        log.warning("readiness: the checks did not finish in %.1f s", READY_TIMEOUT)
        return JSONResponse({"status": "unavailable", "version": __version__,
                             "database": "timeout", "seed_key": kinko.seedbox.current_key_id},
                            503)
    found, ok = report
    return JSONResponse(found, 200 if ok else 503)


def _readiness(kinko: Kinko) -> tuple[dict[str, object], bool]:
    """The readiness report and whether it says "ready"."""
    health = kinko.health
    report: dict[str, object] = {"status": "ok", "version": __version__,
                                 "database": "ok", "schema": None,
                                 "expected_schema": health.expected_schema(),
                                 "schema_state": None, "seeds": "ok"}
    schema: SchemaStatus | None = None
    newest_key_id: str | None = None
    try:
        schema = health.schema()
        report["schema"], report["schema_state"] = schema.current, schema.state
        if schema.serves:
            # The newest token's key: every process must hold it (and the older ones).
            newest_key_id = health.newest_seed_key_id()
    except Exception as error:  # any database failure means "not ready"
        # An outage is one line per probe; anything else gets its traceback.
        unreachable = database_unavailable(error)
        log.warning("readiness: the database did not answer%s",
                    f" ({type(error).__name__})" if unreachable else "",
                    exc_info=not unreachable)
        report["database"] = "unreachable"
    if not _seeds_open(kinko, newest_key_id):
        report["seeds"] = "unavailable"
    # A fingerprint, not the key: lets a rotation check that every machine has the new key.
    report["seed_key"] = kinko.seedbox.current_key_id
    ok = (report["database"] == "ok" and report["seeds"] == "ok"
          and schema is not None and schema.serves)
    if not ok:
        report["status"] = "unavailable"
    return report, ok


def _seeds_open(kinko: Kinko, newest_key_id: str | None) -> bool:
    """The keyring still loads (a changed key file is re-read), seals and opens a seed, and
    knows the key of the newest stored seed."""
    try:
        sealed = kinko.seedbox.seal(_PROBE_SERIAL, _PROBE_SEED)
        if kinko.seedbox.open(_PROBE_SERIAL, sealed) != _PROBE_SEED:
            return False
        if newest_key_id is not None and not kinko.seedbox.knows(newest_key_id):
            log.warning("readiness: the newest seed is sealed under key %s, which this "
                        "process does not have; is its key file out of date?", newest_key_id)
            return False
    except Exception:  # a missing, unreadable or corrupt key file
        log.warning("readiness: the seed keys do not work", exc_info=True)
        return False
    return True


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """This process's counters and the database's gauges, in the Prometheus text format."""
    kinko: Kinko = request.app.state.kinko
    found = kinko.ctx.metrics
    if not isinstance(found, PrometheusMetrics):
        raise HTTPException(404, "metrics are not collected in this process")
    return Response(found.render(), media_type=CONTENT_TYPE)
