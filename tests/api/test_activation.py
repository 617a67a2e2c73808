"""POST /api/v1/activations and docs/activation.md's worked example."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kinko.domain.activation import b64url, derive_seed, from_b64url, public_key_from_bytes
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import TokenOrigin
from kinko.domain.otp import TotpParameters
from kinko.domain.serials import is_valid_serial
from kinko.store.rows import TokenRow
from kinko.web.app import create_app
from tests.support import Harness

DOC = Path(__file__).resolve().parents[2] / "docs" / "activation.md"
LOW_ORDER_POINTS = [bytes(32), b"\x01" + bytes(31),
                    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")]


def raw_public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def documented() -> dict[str, str]:
    values = dict(re.findall(r"^(\w+)\s+= (\S+)$", DOC.read_text(encoding="utf-8"), re.M))
    assert len(values) >= 12, "the worked example is missing from docs/activation.md"
    return values


def test_the_worked_example_in_the_docs_is_what_the_code_computes() -> None:
    doc = documented()
    client = X25519PrivateKey.from_private_bytes(bytes.fromhex(doc["client_private_key"]))
    server = X25519PrivateKey.from_private_bytes(bytes.fromhex(doc["server_private_key"]))
    salt = bytes.fromhex(doc["salt"])
    serial = doc["serial"]
    assert is_valid_serial(serial)
    assert raw_public(client).hex() == doc["client_public_key"]
    assert b64url(raw_public(client)) == doc["client_public_b64"]
    assert raw_public(server).hex() == doc["server_public_key"]
    assert b64url(raw_public(server)) == doc["server_public_b64"]
    assert b64url(salt) == doc["salt_b64"]
    assert client.exchange(server.public_key()).hex() == doc["shared_secret"]
    app_seed = derive_seed(client, server.public_key(), salt=salt, serial=serial)
    server_seed = derive_seed(server, client.public_key(), salt=salt, serial=serial)
    assert app_seed == server_seed
    assert app_seed.reveal().hex() == doc["seed"]
    assert base64.b32encode(app_seed.reveal()).decode() == doc["seed_base32"]
    codes = re.findall(r"unix_time=(\d+)\s+step=(\d+)\s+code=(\d{6})",
                       DOC.read_text(encoding="utf-8"))
    assert len(codes) >= 6
    params = TotpParameters()
    for unix_time, step, code in codes:
        assert params.step_at(int(unix_time)) == int(step)
        assert params.code_at(app_seed.reveal(), int(unix_time)) == code


@pytest.fixture
def api(harness: Harness) -> TestClient:
    return TestClient(create_app(harness.kinko))


def tokens(h: Harness) -> int:
    with Session(h.kinko.engine) as session:
        return int(session.execute(select(func.count()).select_from(TokenRow)).scalar_one())


def test_activation_gives_the_app_the_same_seed_without_sending_it(
    api: TestClient, harness: Harness
) -> None:
    client_key = X25519PrivateKey.generate()
    response = api.post("/api/v1/activations",
                        json={"client_public_key": b64url(raw_public(client_key))})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"serial", "server_public_key", "salt", "algorithm", "digits",
                         "period", "expires_at"}
    assert is_valid_serial(body["serial"])
    assert (body["algorithm"], body["digits"], body["period"]) == ("SHA1", 6, 30)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["expires_at"])
    server_public = public_key_from_bytes(
        from_b64url(body["server_public_key"], field="k", length=32), field="k")
    salt = from_b64url(body["salt"], field="salt", length=16)
    seed = derive_seed(client_key, server_public, salt=salt, serial=body["serial"])

    with harness.ctx.uow() as uow:
        token = uow.tokens.by_serial(body["serial"])
        assert token is not None
        stored = uow.tokens.seed(token)
    assert token.state is TokenState.UNBOUND and token.origin is TokenOrigin.ACTIVATION
    assert token.expires_at is not None
    assert token.expires_at - harness.clock() == harness.ctx.policy.unbound_ttl
    assert stored == seed
    for form in (seed.reveal().hex(), b64url(seed.reveal()),
                 base64.b32encode(seed.reveal()).decode().rstrip("=")):
        assert form not in response.text


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=["zero", "one", "order-8"])
def test_a_low_order_point_is_refused_and_makes_no_token(
    api: TestClient, harness: Harness, point: bytes
) -> None:
    response = api.post("/api/v1/activations", json={"client_public_key": b64url(point)})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_input"
    assert tokens(harness) == 0


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"not json", {"content-type": "application/json"}, 400, "invalid_json"),
        (b'{"client_public_key": "' + b"A" * 5000 + b'"}', {"content-type": "application/json"},
         413, "body_too_large"),
        (b'{"client_public_key": "abc"}', {"content-type": "text/plain"}, 415,
         "unsupported_media_type"),
        (b'{"client_public_key": "AAAA"}', {"content-type": "application/json"}, 422,
         "invalid_input"),
        (b'{"client_public_key": 42}', {"content-type": "application/json"}, 422,
         "invalid_input"),
        (b'["client_public_key"]', {"content-type": "application/json"}, 422,
         "invalid_input"),
        (b'{"client_public_key": "' + b64url(bytes(33)).encode() + b'"}',
         {"content-type": "application/json"}, 422, "invalid_input"),
        (b'{"client_public_key": "!!!not base64!!!"}', {"content-type": "application/json"},
         422, "invalid_input"),
        (b'{"client_public_key": "x", "seed": "y"}', {"content-type": "application/json"},
         422, "invalid_input"),
        (b"\xff\xfe", {"content-type": "application/json"}, 400, "invalid_json"),
    ],
    ids=["non-json", "huge", "text-plain", "short-key", "number", "array", "33-bytes",
         "not-base64", "extra-member", "bad-utf8"],
)
def test_bad_input_is_a_problem_response_and_never_a_token(
    api: TestClient, harness: Harness, body: bytes, headers: dict[str, str], status: int,
    code: str,
) -> None:
    response = api.post("/api/v1/activations", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["code"] == code
    assert problem["type"] == f"urn:kinko:problem:{code}"
    assert tokens(harness) == 0


def test_activations_are_rate_limited_per_address_in_the_database(
    api: TestClient, harness: Harness
) -> None:
    limit = harness.kinko.settings.activation_limit()
    key = {"client_public_key": b64url(raw_public(X25519PrivateKey.generate()))}
    for _ in range(limit.attempts):
        assert api.post("/api/v1/activations", json=key).status_code == 201
    refused = api.post("/api/v1/activations", json=key)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    window = limit.window.total_seconds()
    assert 0 < int(refused.headers["retry-after"]) <= 2 * window
    # A second server process shares the count: it refuses too.
    other = TestClient(create_app(harness.kinko))
    assert other.post("/api/v1/activations", json=key).status_code == 429
    assert tokens(harness) == limit.attempts
    # The window slides: one window later the last one still weighs in (a fixed window
    # would let a second burst through here) ...
    harness.clock.advance(window)
    still = api.post("/api/v1/activations", json=key)
    assert still.status_code == 429
    # ... until the wait it names has passed.
    harness.clock.advance(int(still.headers["retry-after"]))
    assert api.post("/api/v1/activations", json=key).status_code == 201
