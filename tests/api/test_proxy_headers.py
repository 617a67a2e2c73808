"""Per-address limits hold behind uvicorn's proxy-header handling as ``kinko serve`` and
``kinko.web.asgi`` run it: ``X-Forwarded-For`` counts only from the addresses in
``FORWARDED_ALLOW_IPS`` (loopback by default), never from any client that sends it."""

from __future__ import annotations

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from kinko.domain.activation import b64url
from kinko.web.app import create_app
from tests.support import Harness

ATTEMPTS = 3


def _served(harness: Harness, peer: str) -> TestClient:
    """The app as uvicorn serves it with its default settings (what ``kinko serve`` passes:
    none), seen from a client at ``peer``."""
    config = uvicorn.Config(create_app(harness.kinko))
    assert config.proxy_headers
    app = ProxyHeadersMiddleware(config.app, trusted_hosts=config.forwarded_allow_ips)
    return TestClient(app, client=(peer, 50000))


def _activate(client: TestClient, forwarded_for: str) -> int:
    key = b64url(X25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw))
    return client.post("/api/v1/activations", json={"client_public_key": key},
                       headers={"X-Forwarded-For": forwarded_for}).status_code


@pytest.fixture
def harness_limited(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    harness.kinko.settings.activation_limit_attempts = ATTEMPTS
    return harness


def test_uvicorn_trusts_forwarded_headers_from_loopback_only_by_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert uvicorn.Config("kinko.web.asgi:create").forwarded_allow_ips == "127.0.0.1,::1"


def test_a_client_cannot_escape_the_activation_limit_by_sending_x_forwarded_for(
        harness_limited: Harness) -> None:
    direct = _served(harness_limited, "203.0.113.7")
    statuses = [_activate(direct, f"198.51.100.{n}") for n in range(ATTEMPTS + 1)]
    assert statuses == [201] * ATTEMPTS + [429]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
        harness_limited: Harness) -> None:
    proxy = _served(harness_limited, "127.0.0.1")
    statuses = [_activate(proxy, f"198.51.100.{n}") for n in range(ATTEMPTS + 1)]
    assert statuses == [201] * (ATTEMPTS + 1)
    # A client behind the proxy that prepends its own X-Forwarded-For is still counted by
    # the address the proxy saw (the last one it appended).
    spoofed = [_activate(proxy, f"192.0.2.{n}, 198.51.100.200") for n in range(ATTEMPTS + 1)]
    assert spoofed == [201] * ATTEMPTS + [429]
