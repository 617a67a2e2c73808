"""The web server as far as this release goes: the health page and security headers."""

from __future__ import annotations

import anyio.to_thread
from fastapi.testclient import TestClient
from sqlalchemy.pool import QueuePool

from kinko.web.app import SECURITY_HEADERS, create_app
from tests.support import Harness


def test_health_says_alive_and_readiness_reports_the_schema_revision(harness: Harness) -> None:
    client = TestClient(create_app(harness.kinko))
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok" and body["schema"] == body["expected_schema"] is not None


def test_pages_carry_the_security_headers(harness: Harness) -> None:
    client = TestClient(create_app(harness.kinko))
    response = client.get("/")
    assert response.status_code == 200
    assert "インターネットバンキング" in response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert client.get("/no-such-page").status_code == 404


def test_api_answers_and_static_files_carry_the_headers_but_stay_cacheable(
        harness: Harness) -> None:
    client = TestClient(create_app(harness.kinko))
    api = client.get("/api/v1/no-such-operation")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    for name, value in SECURITY_HEADERS.items():
        assert api.headers[name] == value
    static = client.get("/static/kinko.css")
    assert static.status_code == 200
    assert "Cache-Control" not in static.headers or "no-store" not in static.headers[
        "Cache-Control"]
    assert static.headers["X-Frame-Options"] == "DENY"


def test_handlers_run_no_more_at_once_than_the_pool_keeps_connections(
        harness: Harness) -> None:
    """More handler threads than pooled connections would open and close an overflow
    connection per request under load (docs/performance.md)."""

    async def thread_limit() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    pool = harness.kinko.engine.pool
    with TestClient(create_app(harness.kinko)) as client:
        assert client.portal is not None
        limit = client.portal.call(thread_limit)
    if isinstance(pool, QueuePool):
        assert limit == pool.size()
    else:
        assert limit == 40  # anyio's default, untouched
