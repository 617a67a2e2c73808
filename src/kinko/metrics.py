"""Prometheus metrics: the verification path's counters and latency, and gauges read from the
database when Prometheus scrapes ``/metrics``.

Each ``PrometheusMetrics`` has its own registry, so tests and several apps in one process
never share (or clash over) counters. Each server process counts its own verifications;
Prometheus scrapes every process. Under gunicorn, whose workers share one port, set
``PROMETHEUS_MULTIPROC_DIR`` (see docs/operations.md): the counters then go to files there
and any worker's ``/metrics`` adds up all of them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.pool import QueuePool

from kinko.domain.errors import (
    ReplayedCode,
    TokenExpired,
    TokenLocked,
    TokenRevoked,
    TokenSuspended,
    WrongCode,
)
from kinko.domain.events import Outcome
from kinko.domain.lifecycle import TokenState
from kinko.store.rows import AuditEventRow, OutboxRow, TokenRow

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "MULTIPROC_DIR_VARIABLE", "PrometheusMetrics"]

log = logging.getLogger(__name__)

#: The classic Prometheus text format (what ``generate_latest`` writes), which every
#: Prometheus server reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Where prometheus-client keeps the counters of several worker processes (its own name).
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

#: Seconds. Dense between 1 and 100 ms, where a verification should be; a few above to
#: show how bad it gets when it is not.
LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
                   0.075, 0.1, 0.25, 0.5, 1.0, 2.5)

#: Outcomes shown from the start (at 0), so that rate() and alerts see them before the
#: first occurrence. Other error codes appear when they first happen.
KNOWN_OUTCOMES = (Outcome.SUCCESS.value, WrongCode.code, ReplayedCode.code, TokenLocked.code,
                  TokenSuspended.code, TokenRevoked.code, TokenExpired.code)

#: The token states whose numbers the gauge reports (revoked only grows; unbound is noise).
GAUGED_STATES = (TokenState.ACTIVE, TokenState.LOCKED, TokenState.SUSPENDED)
GAUGED_NOTICE_STATUSES = ("pending", "failed")


class PrometheusMetrics:
    """The ``Metrics`` of ``kinko.services.context`` for Prometheus, plus ``render()`` for
    ``/metrics``. Given an engine, a scrape also reads a few counts from the database."""

    def __init__(self, engine: Engine | None = None) -> None:
        #: Set when prometheus-client keeps values in files (it decides that on import,
        #: from the environment variable): then ``render`` merges every worker's files.
        self.multiprocess_dir = (Path(os.environ[MULTIPROC_DIR_VARIABLE])
                                 if _values_in_files() else None)
        self.registry = CollectorRegistry(auto_describe=True)
        self.verifications = Counter(
            "kinko_verifications", "One-time passwords checked, by outcome (success or the "
            "error code, e.g. wrong_code, replayed_code, token_locked).",
            ["outcome"], registry=self.registry)
        for outcome in KNOWN_OUTCOMES:
            self.verifications.labels(outcome)
        self.latency = Histogram(
            "kinko_verification_seconds", "Time to check one code and commit its outcome "
            "(spent step or counted failure, audit event).",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.locks = Counter(
            "kinko_token_locks", "Tokens locked by too many wrong codes.", registry=self.registry)
        self._database = DatabaseCollector(engine) if engine is not None else None
        if self.multiprocess_dir is None:
            self.registry.register(ProcessCollector(registry=None))
            self.registry.register(PlatformCollector(registry=None))
            if self._database is not None:
                self.registry.register(self._database)

    # --- the Metrics protocol (called by kinko.services.verification) ---------------------

    def verification(self, outcome: str, seconds: float) -> None:
        self.verifications.labels(outcome).inc()
        self.latency.observe(seconds)

    def token_locked(self) -> None:
        self.locks.inc()

    # --- exposition -----------------------------------------------------------------------

    def render(self) -> bytes:
        """The metrics in the Prometheus text format (``CONTENT_TYPE``)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        # Every worker's counters from the shared directory, and this worker's reading of
        # the database (the same whichever worker answers).
        registry = CollectorRegistry(auto_describe=True)
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=str(self.multiprocess_dir))
        if self._database is not None:
            registry.register(self._database)
        return generate_latest(registry)


def _values_in_files() -> bool:
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class DatabaseCollector(Collector):
    """Gauges computed at scrape time: a few COUNT queries (each served by an index) and the
    state of this process's connection pool. A database that does not answer gives
    ``kinko_database_up 0`` instead of an error, so the counters are still scraped."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> Iterable[Metric]:
        return []  # computed at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("kinko_database_up",
                               "1 if the database answered this scrape's queries.")
        try:
            families = self._counts()
        except Exception:  # a scrape must not fail because the database is down
            log.warning("reading the metrics from the database failed", exc_info=True)
            up.add_metric([], 0)
            families = []
        else:
            up.add_metric([], 1)
        yield up
        yield from families
        yield from self._pool()

    def _counts(self) -> list[Metric]:
        with self.engine.connect() as connection:
            by_state: dict[str, int] = dict(connection.execute(
                select(TokenRow.state, func.count())
                .where(TokenRow.state.in_([s.value for s in GAUGED_STATES]))
                .group_by(TokenRow.state)).all())
            by_status: dict[str, int] = dict(connection.execute(
                select(OutboxRow.status, func.count())
                .where(OutboxRow.status.in_(GAUGED_NOTICE_STATUSES))
                .group_by(OutboxRow.status)).all())
            unsealed = connection.execute(
                select(func.count()).select_from(AuditEventRow)
                .where(AuditEventRow.seq.is_(None))).scalar_one()
        tokens = GaugeMetricFamily("kinko_tokens", "Tokens (customers' and staff's) by state.",
                                   labels=["state"])
        for state in GAUGED_STATES:
            tokens.add_metric([state.value], by_state.get(state.value, 0))
        notices = GaugeMetricFamily(
            "kinko_notices", "Customer notices waiting for delivery (pending) or given up "
            "(failed, for staff to look at).", labels=["status"])
        for status in GAUGED_NOTICE_STATUSES:
            notices.add_metric([status], by_status.get(status, 0))
        audit = GaugeMetricFamily(
            "kinko_audit_events_unsealed",
            "Audit events not yet sealed into the hash chain (the sealer runs every 2 s).",
            value=unsealed)
        return [tokens, notices, audit]

    def _pool(self) -> Iterator[Metric]:
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):
            return
        size = GaugeMetricFamily("kinko_db_pool_size",
                                 "This process's configured pool size (KINKO_DB_POOL_SIZE).",
                                 value=pool.size())
        out = GaugeMetricFamily(
            "kinko_db_pool_checked_out",
            "Database connections this process is using now (up to pool size + overflow).",
            value=pool.checkedout())
        yield size
        yield out
