"""The web server as far as this release goes: the health page and security headers."""

from __future__ import annotations

from fastapi.testclient import TestClient

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
