"""The bank systems' API as its callers see it: a TestClient and API clients with scopes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from kinko.domain.events import AuditEvent
from kinko.services import api_clients
from kinko.web.app import create_app
from tests.support import Harness

ALL_SCOPES = ("verify", "manage", "audit")


@dataclass
class Api:
    """An app on the test's database and the secrets of the clients made for it."""

    h: Harness
    http: TestClient
    secret: str = ""

    def client(self, name: str = "ib-core", scopes: Sequence[str] = ALL_SCOPES) -> str:
        """A new API client's bearer secret; the first becomes the default of the calls."""
        bearer = api_clients.add_client(self.h.ctx, name, scopes).bearer.reveal()
        if not self.secret:
            self.secret = bearer
        return bearer

    def _auth(self, secret: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret if secret is not None else self.secret}"}

    def post(self, path: str, body: Any, *, secret: str | None = None) -> Response:
        return self.http.post(f"/api/v1{path}", json=body, headers=self._auth(secret))

    def get(self, path: str, *, secret: str | None = None, **params: Any) -> Response:
        return self.http.get(f"/api/v1{path}", params=params, headers=self._auth(secret))

    def events(self, **filters: Any) -> list[AuditEvent]:
        """Audit events, oldest first."""
        with self.h.ctx.uow() as uow:
            return list(reversed(uow.audit.recent(limit=500, **filters)))


@pytest.fixture
def api(harness: Harness) -> Api:
    api = Api(harness, TestClient(create_app(harness.kinko)))
    api.client()
    return api


def problem_code(response: Response) -> str:
    """The problem's ``code``, after checking it is an RFC 9457 problem document."""
    assert response.headers["content-type"] == "application/problem+json", response.text
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"] == f"urn:kinko:problem:{body['code']}"
    return str(body["code"])
