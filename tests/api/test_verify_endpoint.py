"""POST /api/v1/verify is answered by its plain ASGI handler (``verify_endpoint``), before
FastAPI's router, with the same answers FastAPI gave; everything else still goes to FastAPI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import exc
from starlette.types import Receive, Scope, Send

from kinko.services.issuance import IssuedToken
from kinko.web.api import models, v1
from kinko.web.api.app import Api as ApiLayer
from kinko.web.api.app import Prefixed
from kinko.web.app import create_app
from kinko.web.errors import RETRY_AFTER_SECONDS
from tests.api.conftest import Api, problem_code
from tests.support import Harness

CONTRACT = "1000000001"


class FastApiSpy:
    """Stands in front of the API's FastAPI app and notes every request that reaches it."""

    def __init__(self, layer: ApiLayer) -> None:
        self.app = layer.app
        self.seen: list[tuple[str, str]] = []
        layer.app = self  # type: ignore[assignment]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


@pytest.fixture
def spied(harness: Harness) -> tuple[Api, FastApiSpy]:
    site = create_app(harness.kinko)
    first = site.router.routes[0]
    assert isinstance(first, Prefixed) and isinstance(first.app, ApiLayer)
    spy = FastApiSpy(first.app)
    api = Api(harness, TestClient(site))
    api.client()
    return api, spy


@pytest.fixture
def token(harness: Harness) -> IssuedToken:
    return harness.enroll(harness.customer(CONTRACT), login_otp=True)


def test_verify_never_reaches_fastapi(spied: tuple[Api, FastApiSpy],
                                      token: IssuedToken) -> None:
    api, spy = spied
    accepted = api.post("/verify", {"contract_id": CONTRACT, "otp": api.h.code(token).reveal(),
                                    "purpose": "login"})
    refused = api.post("/verify", {"contract_id": CONTRACT,
                                   "otp": api.h.wrong_code(token).reveal(), "purpose": "login"})
    malformed = api.post("/verify", {"contract_id": CONTRACT, "purpose": "login"})
    unauthorized = api.post("/verify", {}, secret="kk_1_" + "A" * 43)
    assert [accepted.status_code, refused.status_code, malformed.status_code,
            unauthorized.status_code] == [200, 401, 422, 401]
    assert spy.seen == []
    # Every other operation, and every other method on this path, is FastAPI's.
    assert api.get(f"/customers/{CONTRACT}").status_code == 200
    assert api.http.request("GET", "/api/v1/verify").status_code == 405
    assert spy.seen == [("GET", f"/api/v1/customers/{CONTRACT}"), ("GET", "/api/v1/verify")]


def test_the_answer_is_the_documented_verify_result(api: Api, token: IssuedToken) -> None:
    response = api.post("/verify", {"serial": token.token.serial,
                                    "otp": api.h.code(token).reveal(), "purpose": "transaction"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    result = models.VerifyResult.model_validate_json(response.content)
    assert list(response.json()) == list(models.VerifyResult.model_fields)
    assert (result.contract_id, result.serial, result.purpose) == (
        CONTRACT, token.token.serial, "transaction")
    # The site's middleware still sees it: security headers and a request id.
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"]


def test_a_null_body_is_refused_as_fastapi_refused_it(api: Api, token: IssuedToken) -> None:
    response = api.http.post("/api/v1/verify", content=b"null", headers={
        "Authorization": f"Bearer {api.secret}", "Content-Type": "application/json"})
    assert response.status_code == 422 and problem_code(response) == "invalid_request"
    assert [e["field"] for e in response.json()["errors"]] == ["body"]


@pytest.mark.parametrize(("error", "status", "code"), [
    (exc.OperationalError("SELECT 1", {}, Exception("connection refused")), 503,
     "service_unavailable"),
    (RuntimeError("a bug"), 500, "internal_error"),
])
def test_a_database_outage_is_503_and_a_bug_500_as_problems(
        api: Api, token: IssuedToken, monkeypatch: pytest.MonkeyPatch,
        error: Exception, status: int, code: str) -> None:
    def fail(*args: Any) -> None:
        raise error

    monkeypatch.setattr(v1, "check_code", fail)
    response = api.post("/verify", {"contract_id": CONTRACT,
                                    "otp": api.h.code(token).reveal(), "purpose": "login"})
    assert response.status_code == status and problem_code(response) == code
    assert response.headers.get("retry-after") == (
        str(RETRY_AFTER_SECONDS) if status == 503 else None)
    assert "connection refused" not in response.text and "a bug" not in response.text
