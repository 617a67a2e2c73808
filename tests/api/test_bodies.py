"""Every JSON body the API reads is UTF-8 JSON with no name twice in an object
(``kinko.web.api.bodies``): anything else is a 400 problem with a stable code, never a 5xx,
never a token, never a counted code."""

from __future__ import annotations

import codecs
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kinko.domain.activation import b64url
from kinko.services.issuance import IssuedToken
from tests.api.conftest import Api, problem_code
from tests.api.test_activation import tokens as _tokens

CONTRACT = "1000000001"


def _key() -> str:
    return b64url(X25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw))


def _encodings(text: str) -> dict[str, bytes]:
    """``text`` as the bodies kinko refuses: a BOM, UTF-16 and UTF-32 with or without one."""
    return {
        "utf-8-bom": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf-16": text.encode("utf-16"), "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"), "utf-32": text.encode("utf-32"),
        "utf-32-le": text.encode("utf-32-le"), "latin-1": text.encode("utf-8") + b"\xe9",
    }


ENCODINGS = list(_encodings("{}"))


def _post(api: Api, path: str, body: bytes) -> tuple[int, str]:
    response = api.http.post(path, content=body, headers={
        "Authorization": f"Bearer {api.secret}", "Content-Type": "application/json"})
    assert response.status_code < 500, response.text
    return response.status_code, problem_code(response)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_an_activation_body_that_is_not_utf8_is_refused(api: Api, encoding: str) -> None:
    before = _tokens(api.h)
    body = _encodings(json.dumps({"client_public_key": _key()}))[encoding]
    assert _post(api, "/api/v1/activations", body) == (400, "invalid_json")
    assert _tokens(api.h) == before


@pytest.mark.parametrize("body", [
    '{"client_public_key": "%s", "client_public_key": "%s"}',
    '{"client_public_key": "%s", "client_\\u0070ublic_key": "%s"}',  # the same name, escaped
], ids=["plain", "escaped"])
def test_an_activation_body_with_a_duplicate_name_is_refused(api: Api, body: str) -> None:
    before = _tokens(api.h)
    status_code = _post(api, "/api/v1/activations", (body % (_key(), _key())).encode())
    assert status_code == (400, "duplicate_key")
    assert _tokens(api.h) == before


@pytest.mark.parametrize("body", [
    b"[" * 2040 + b"]" * 2040,                       # deeper than Python's recursion limit
    b'{"client_public_key": NaN}', b'{"client_public_key": "\\ud800"}', b"",
], ids=["deep", "nan", "lone-surrogate", "empty"])
def test_an_activation_body_that_is_not_json_is_a_400_not_a_500(api: Api, body: bytes) -> None:
    assert _post(api, "/api/v1/activations", body) == (400, "invalid_json")


@pytest.fixture
def token(api: Api) -> IssuedToken:
    return api.h.enroll(api.h.customer(CONTRACT))


def _failures(api: Api, token: IssuedToken) -> int:
    with api.h.ctx.uow() as uow:
        stored = uow.tokens.by_serial(token.token.serial)
    assert stored is not None
    return stored.failures


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_verify_body_that_is_not_utf8_is_refused_and_counts_nothing(
        api: Api, token: IssuedToken, encoding: str) -> None:
    document = {"contract_id": CONTRACT, "otp": api.h.wrong_code(token).reveal(),
                "purpose": "login"}
    assert _post(api, "/api/v1/verify", _encodings(json.dumps(document))[encoding]) == \
        (400, "invalid_json")
    assert _failures(api, token) == 0


@pytest.mark.parametrize("body", [
    '{"contract_id": "%s", "otp": "000000", "otp": "%s", "purpose": "login"}',
    '{"serial": "%s", "contract_id": "%s", "contract_id": "1", "otp": "1", "purpose": "login"}',
    '{"contract_id": "%s", "otp": "%s", "purpose": "login", "x": [{"a": 1, "a": 2}]}',
], ids=["top-level", "target", "nested"])
def test_a_body_with_a_duplicate_name_at_any_depth_is_refused(
        api: Api, token: IssuedToken, body: str) -> None:
    text = body % (CONTRACT, api.h.code(token).reveal()) if body.count("%s") == 2 else body
    assert _post(api, "/api/v1/verify", text.encode()) == (400, "duplicate_key")
    # The same parser reads every operation's body, before its model sees it.
    assert _post(api, f"/api/v1/tokens/{token.token.serial}/suspend",
                 b'{"reason": "a", "reason": "b"}') == (400, "duplicate_key")
    assert _failures(api, token) == 0


def test_a_verify_body_that_is_too_deep_or_not_unicode_is_a_400(api: Api,
                                                                token: IssuedToken) -> None:
    assert _post(api, "/api/v1/verify", b"[" * 8000 + b"]" * 8000) == (400, "invalid_json")
    assert _post(api, "/api/v1/verify",
                 b'{"contract_id": "1000000001", "otp": "\\udc00", "purpose": "login"}') == \
        (400, "invalid_json")


def test_the_document_names_the_body_refusals(api: Api) -> None:
    document = api.http.get("/api/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                described = operation["responses"]["400"]["description"]
                assert "`invalid_json`" in described and "`duplicate_key`" in described, \
                    (method, path)
