"""Monitoring: the verification counters and latency, the database gauges of /metrics, and
what /healthz (alive) and /readyz (can serve traffic) answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select, text

from kinko.bootstrap import build, open_seedbox
from kinko.config import Settings
from kinko.domain.errors import ReplayedCode, TokenLocked, WrongCode
from kinko.domain.events import Actor
from kinko.domain.secrets import Code
from kinko.metrics import LATENCY_BUCKETS, PrometheusMetrics
from kinko.services import audit, staff, transactions
from kinko.services.passwords import Argon2Hasher
from kinko.store.db import alembic_config, head_revision, make_engine, upgrade
from kinko.store.keyring import Keyring
from kinko.store.rows import OutboxRow, WebSessionRow
from kinko.store.seedbox import SeedBox
from kinko.web import asgi
from kinko.web.app import create_app
from tests.databases import empty_database
from tests.support import Harness

STAFF = Actor.staff("suzuki")


def _metrics(harness: Harness) -> PrometheusMetrics:
    found = harness.ctx.metrics
    assert isinstance(found, PrometheusMetrics), "build() wires Prometheus metrics by default"
    return found


def _count(metrics: PrometheusMetrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value("kinko_verifications_total", {"outcome": outcome})
    return value or 0.0


def _observed(metrics: PrometheusMetrics) -> float:
    return metrics.registry.get_sample_value("kinko_verification_seconds_count") or 0.0


def _locks(metrics: PrometheusMetrics) -> float:
    return metrics.registry.get_sample_value("kinko_token_locks_total") or 0.0


def _scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


# --- counters and latency ----------------------------------------------------------------

def test_each_verification_outcome_is_counted_and_its_latency_observed(harness: Harness) -> None:
    h = harness
    metrics = _metrics(h)
    customer = h.customer()
    issued = h.enroll(customer)   # 利用開始 checked one code on the unbound token
    assert _count(metrics, "success") == 1 and _observed(metrics) == 1

    def authorize(code: Code) -> None:
        transactions.authorize(h.ctx, customer.id, purpose="transfer", code=code)

    code = h.code(issued)
    authorize(code)
    with pytest.raises(ReplayedCode):
        authorize(code)
    for _ in range(4):
        with pytest.raises(WrongCode):
            authorize(h.wrong_code(issued))
    with pytest.raises(TokenLocked):   # the fifth wrong code locks the token
        authorize(h.wrong_code(issued))
    h.next_step()
    with pytest.raises(TokenLocked):   # and a right code cannot pass a locked token
        authorize(h.code(issued))

    assert _count(metrics, "success") == 2
    assert _count(metrics, "replayed_code") == 1
    assert _count(metrics, "wrong_code") == 4
    assert _count(metrics, "token_locked") == 2
    assert _locks(metrics) == 1, "a token is locked once, however often it is tried"
    assert _observed(metrics) == 1 + 1 + 1 + 4 + 2
    total = metrics.registry.get_sample_value("kinko_verification_seconds_sum") or 0.0
    assert 0 < total < 60
    below_slowest = metrics.registry.get_sample_value(
        "kinko_verification_seconds_bucket", {"le": str(LATENCY_BUCKETS[-1])})
    assert below_slowest == _observed(metrics)


def test_two_apps_in_one_process_count_apart(harness: Harness) -> None:
    other = PrometheusMetrics()
    _metrics(harness).verification("success", 0.002)
    assert _count(_metrics(harness), "success") == 1
    assert _count(other, "success") == 0


def test_the_latency_buckets_resolve_one_to_a_hundred_milliseconds() -> None:
    inside = [b for b in LATENCY_BUCKETS if 0.001 <= b <= 0.1]
    assert len(inside) >= 10 and inside[0] == 0.001 and inside[-1] == 0.1


# --- /metrics --------------------------------------------------------------------------

def test_the_metrics_page_reports_tokens_notices_and_unsealed_events_from_the_database(
    harness: Harness, clean_engine: Engine,
) -> None:
    h = harness
    h.enroll(h.customer("1000000001"))
    to_lock = h.customer("1000000002")
    locked = h.enroll(to_lock)
    suspended = h.enroll(h.customer("1000000003"))
    h.issue()   # unbound: not gauged
    for _ in range(h.ctx.policy.max_code_failures):
        with pytest.raises((WrongCode, TokenLocked)):
            transactions.authorize(h.ctx, to_lock.id, purpose="transfer",
                                   code=h.wrong_code(locked))
    staff.suspend(h.ctx, suspended.token.serial, reason="lost phone", actor=STAFF)

    client = TestClient(create_app(h.kinko))   # no lifespan: nothing seals meanwhile
    scraped = _scrape(client)

    def gauge(name: str, **labels: str) -> float:
        return scraped[(name, tuple(sorted(labels.items())))]

    assert gauge("kinko_database_up") == 1
    assert gauge("kinko_tokens", state="active") == 1
    assert gauge("kinko_tokens", state="locked") == 1
    assert gauge("kinko_tokens", state="suspended") == 1
    with clean_engine.connect() as connection:
        pending = connection.execute(select(func.count()).select_from(OutboxRow)
                                     .where(OutboxRow.status == "pending")).scalar_one()
    assert pending > 0, "registrations, the lock and the suspension each notify the customer"
    assert gauge("kinko_notices", status="pending") == pending
    assert gauge("kinko_notices", status="failed") == 0
    assert gauge("kinko_audit_events_unsealed") > 0
    assert gauge("kinko_verifications_total", outcome="wrong_code") == 4
    assert gauge("kinko_token_locks_total") == 1

    audit.seal_all(h.kinko.audit_trail)
    assert _scrape(client)[("kinko_audit_events_unsealed", ())] == 0
    with clean_engine.connect() as connection:
        sessions = connection.execute(select(func.count()).select_from(WebSessionRow))
        assert sessions.scalar_one() == 0, "a scrape is not a visitor: no session is made"


def test_the_metrics_page_still_shows_the_counters_when_the_database_fails(
    tmp_path: Path,
) -> None:
    metrics = PrometheusMetrics(make_engine(f"sqlite:///{tmp_path / 'no-tables.db'}"))
    metrics.verification("success", 0.003)
    scraped = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(metrics.render().decode())
               for s in f.samples}
    assert scraped[("kinko_database_up", ())] == 0
    assert scraped[("kinko_verifications_total", (("outcome", "success"),))] == 1
    assert not any(name == "kinko_tokens" for name, _ in scraped)


_MULTIPROCESS_WORKER = """
import sys
from kinko.metrics import PrometheusMetrics
metrics = PrometheusMetrics()
if sys.argv[1] == "render":
    sys.stdout.write(metrics.render().decode())
else:
    metrics.verification(sys.argv[1], 0.004)
"""


def test_with_a_multiprocess_directory_every_worker_reports_all_workers_counts(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def worker(arg: str) -> str:
        done = subprocess.run([sys.executable, "-c", _MULTIPROCESS_WORKER, arg], env=env,  # noqa: S603 - our own code
                              capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    worker("success")
    worker("success")
    worker("wrong_code")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(worker("render")) for s in f.samples}
    assert samples[("kinko_verifications_total", (("outcome", "success"),))] == 2
    assert samples[("kinko_verifications_total", (("outcome", "wrong_code"),))] == 1
    assert samples[("kinko_verification_seconds_count", ())] == 3


# --- /healthz and /readyz ----------------------------------------------------------------

def test_healthz_says_the_process_is_alive_without_asking_the_database() -> None:
    nowhere = build(Settings(_env_file=None, database_url="postgresql://kinko@127.0.0.1:1/x"),
                    seedbox=SeedBox(Keyring.generate()))
    client = TestClient(create_app(nowhere))
    try:
        response = client.get("/healthz")
        ready = client.get("/readyz")
    finally:
        nowhere.close()
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert ready.status_code == 503
    assert ready.json()["database"] == "unreachable" and ready.json()["status"] == "unavailable"


def test_readyz_is_ready_with_the_current_schema_and_working_keys(harness: Harness) -> None:
    harness.enroll(harness.customer())
    response = TestClient(create_app(harness.kinko)).get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["seeds"] == "ok"
    assert body["schema"] == body["expected_schema"] == head_revision(harness.kinko.engine)
    assert body["seed_key"] == harness.kinko.seedbox.current_key_id


def test_readyz_is_unavailable_on_a_database_that_was_never_migrated(
    database_url: str, tmp_path: Path,
) -> None:
    with empty_database(database_url, tmp_path) as url:
        kinko = build(Settings(_env_file=None, database_url=url),
                      seedbox=SeedBox(Keyring.generate()))
        try:
            response = TestClient(create_app(kinko)).get("/readyz")
        finally:
            kinko.close()
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["schema"] is None and body["seeds"] == "ok"
    assert body["schema_state"] == "behind" and body["status"] == "unavailable"


def test_readyz_is_unavailable_while_the_schema_is_one_migration_behind(
    database_url: str, tmp_path: Path,
) -> None:
    with empty_database(database_url, tmp_path) as url:
        engine = make_engine(url)
        head = head_revision(engine)
        previous = ScriptDirectory.from_config(alembic_config(engine)).get_revision(head)
        assert previous is not None and isinstance(previous.down_revision, str)
        upgrade(engine, previous.down_revision)
        kinko = build(Settings(_env_file=None, database_url=url), engine=engine,
                      seedbox=SeedBox(Keyring.generate()))
        client = TestClient(create_app(kinko))
        try:
            behind = client.get("/readyz")
            upgrade(engine)   # `kinko db upgrade` during a rolling upgrade
            after = client.get("/readyz")
        finally:
            kinko.close()
    assert behind.status_code == 503
    assert behind.json()["schema"] == previous.down_revision
    assert behind.json()["expected_schema"] == head
    assert behind.json()["schema_state"] == "behind"
    assert after.status_code == 200 and after.json()["schema_state"] == "current"


def test_readyz_stays_ready_on_a_schema_a_newer_release_has_expanded(
    database_url: str, tmp_path: Path,
) -> None:
    """A rolling upgrade: `kinko db upgrade` ran for the new release, and the servers still
    on the old one keep serving (migrations only expand in the release that adds them)."""
    with empty_database(database_url, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00dnewer'"))
        kinko = build(Settings(_env_file=None, database_url=url), engine=engine,
                      seedbox=SeedBox(Keyring.generate()))
        try:
            response = TestClient(create_app(kinko)).get("/readyz")
        finally:
            kinko.close()
    assert response.status_code == 200, response.text
    assert response.json()["schema"] == "f00dnewer"
    assert response.json()["schema_state"] == "ahead"


def test_readyz_is_unavailable_when_the_key_file_goes_bad(
    harness: Harness, tmp_path: Path,
) -> None:
    key_file = tmp_path / "keys" / "master.key"
    settings = Settings(_env_file=None, database_url=str(harness.kinko.engine.url),
                        key_file=key_file)
    kinko = build(settings, engine=harness.kinko.engine, seedbox=open_seedbox(settings),
                  hasher=Argon2Hasher.fast_for_tests())
    client = TestClient(create_app(kinko))
    assert client.get("/readyz").status_code == 200

    key_file.write_text("not a key file")   # stays 0600: only the content is broken
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["seeds"] == "unavailable" and response.json()["database"] == "ok"
    assert "not a key file" not in response.text and str(key_file) not in response.text
    assert client.get("/healthz").status_code == 200, "alive: a restart would not help"


def test_readyz_is_unavailable_on_a_machine_without_the_key_of_the_newest_seed(
    harness: Harness,
) -> None:
    harness.issue()   # sealed under the harness's key
    elsewhere = build(Settings(_env_file=None, database_url=str(harness.kinko.engine.url)),
                      engine=harness.kinko.engine, seedbox=SeedBox(Keyring.generate()))
    response = TestClient(create_app(elsewhere)).get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.text)["seeds"] == "unavailable"
    assert TestClient(create_app(harness.kinko)).get("/readyz").status_code == 200


# --- the worker factory (gunicorn, uvicorn --workers) ------------------------------------

def test_the_worker_factory_builds_the_app_from_the_environment_and_refuses_an_old_schema(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)   # no .env file
    for name in ("KINKO_DATA_DIR", "KINKO_MASTER_KEY", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KINKO_KEY_FILE", str(tmp_path / "keys" / "master.key"))
    monkeypatch.setenv("KINKO_DATABASE_URL", database_url)
    app = asgi.create()
    assert TestClient(app).get("/readyz").status_code == 200
    app.state.kinko.close()

    with empty_database(database_url, tmp_path) as url:
        monkeypatch.setenv("KINKO_DATABASE_URL", url)
        with pytest.raises(RuntimeError, match="kinko db upgrade"):
            asgi.create()
