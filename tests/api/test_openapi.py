"""The API's OpenAPI document and its self-contained documentation page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kinko.domain.activation import KEY_LENGTH, from_b64url
from kinko.domain.errors import InvalidInput
from kinko.web.api import activations, models
from kinko.web.app import SECURITY_HEADERS
from kinko.web.errors import HTTP_STATUS
from tests.api.conftest import Api

METHODS = ("get", "post", "put", "patch", "delete")


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{method.upper()} {path}": item[method]
            for path, item in document["paths"].items() for method in METHODS
            if method in item}


def test_the_document_lists_every_api_operation_and_nothing_else(api: Api) -> None:
    document = api.http.get("/api/openapi.json").json()
    assert document["info"]["title"] == "kinko API"
    assert set(operations(document)) == {
        "POST /api/v1/activations", "POST /api/v1/verify",
        "GET /api/v1/customers/{contract_id}", "GET /api/v1/customers/{contract_id}/tokens",
        "POST /api/v1/customers/{contract_id}/enrollment",
        "POST /api/v1/customers/{contract_id}/stop",
        "POST /api/v1/customers/{contract_id}/exchange",
        "POST /api/v1/tokens/{serial}/suspend", "POST /api/v1/tokens/{serial}/resume",
        "POST /api/v1/tokens/{serial}/unlock", "POST /api/v1/tokens/{serial}/resync",
        "POST /api/v1/requests", "GET /api/v1/requests/{request_id}", "GET /api/v1/audit",
    }


def test_every_operation_but_activation_needs_a_bearer_and_names_its_scope(api: Api) -> None:
    document = api.http.get("/api/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for label, operation in operations(document).items():
        if label == "POST /api/v1/activations":
            assert "security" not in operation
            continue
        assert operation["security"] == [{"bearer": []}], label
        assert operation["x-kinko-scope"] in ("verify", "manage", "audit"), label
        assert {"401", "403", "422"} <= set(operation["responses"]), label


def test_errors_are_documented_as_problem_documents(api: Api) -> None:
    document = api.http.get("/api/openapi.json").json()
    for label, operation in operations(document).items():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], label
                assert response["description"].startswith("Problem:"), (label, status)
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "Problem" in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "code"}


def test_every_domain_error_code_has_one_status(api: Api) -> None:
    assert HTTP_STATUS["wrong_code"] == HTTP_STATUS["replayed_code"] == 401
    assert HTTP_STATUS["token_locked"] == HTTP_STATUS["token_suspended"] == 423
    assert HTTP_STATUS["otp_not_in_use"] == HTTP_STATUS["otp_already_in_use"] == 409
    assert (HTTP_STATUS["unauthorized"], HTTP_STATUS["forbidden"]) == (401, 403)


def test_secrets_are_write_only_body_fields(api: Api) -> None:
    schemas = api.http.get("/api/openapi.json").json()["components"]["schemas"]
    for model, field in [("VerifyByContractId", "otp"), ("VerifyBySerial", "otp"),
                         ("EnrollmentRequest", "login_password"),
                         ("EnrollmentRequest", "confirmation_password"),
                         ("ExchangeRequest", "old_otp"), ("ResyncRequest", "second_otp")]:
        prop = schemas[model]["properties"][field]
        assert prop["format"] == "password" and prop["writeOnly"] is True, (model, field)


def test_the_docs_page_is_self_contained_under_the_strict_csp(api: Api) -> None:
    page = api.http.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == \
        SECURITY_HEADERS["Content-Security-Policy"]
    assert "<script" not in page.text and "http://" not in page.text \
        and "https://" not in page.text
    assert 'href="/static/api-docs.css"' in page.text
    assert api.http.get("/static/api-docs.css").status_code == 200
    for text in ("POST", "/api/v1/verify", "Scope: <code>verify</code>",
                 "<code>token_locked</code>", "Enrollment"):
        assert text in page.text, text


def test_fastapis_own_docs_stay_off(api: Api) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert api.http.get(path).status_code == 404


def test_verify_takes_exactly_one_of_contract_id_or_serial_as_one_of(api: Api) -> None:
    document = api.http.get("/api/openapi.json").json()
    body = document["paths"]["/api/v1/verify"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    refs = [variant["$ref"].rsplit("/", 1)[1] for variant in body["oneOf"]]
    assert refs == ["VerifyByContractId", "VerifyBySerial"]
    schemas = document["components"]["schemas"]
    for name, target, other in [("VerifyByContractId", "contract_id", "serial"),
                                ("VerifyBySerial", "serial", "contract_id")]:
        shape = schemas[name]
        assert shape["additionalProperties"] is False
        assert set(shape["required"]) == {target, "otp", "purpose"}
        assert other not in shape["properties"]
        assert shape["properties"][target]["type"] == "string"  # never null


@pytest.mark.parametrize(("body", "field"), [
    ({"otp": "123456", "purpose": "login"}, "body.contract_id"),
    ({"contract_id": "1000000001", "serial": "123456789015", "otp": "123456",
      "purpose": "login"}, "body.contract_id"),
    ({"contract_id": None, "otp": "123456", "purpose": "login"}, "body.contract_id"),
])
def test_verify_refuses_neither_or_both_targets_naming_the_field(
        api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/verify", body)
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def _request_schemas(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(operation, field, schema) of every parameter and body property of the document."""
    schemas = document["components"]["schemas"]
    found = []
    for label, operation in operations(document).items():
        for parameter in operation.get("parameters", []):
            found.append((label, parameter["name"], parameter["schema"]))
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        schema = body["schema"]
        for shape in schema.get("oneOf", [schema]):
            shape = schemas[shape["$ref"].rsplit("/", 1)[1]] if "$ref" in shape else shape
            found.extend((label, name, prop) for name, prop in shape["properties"].items())
    return found


def _string(schema: dict[str, Any]) -> dict[str, Any]:
    """The string schema of an optional (``anyOf`` with null) or plain property."""
    return next((s for s in schema.get("anyOf", [schema]) if s.get("type") == "string"),
                schema)


PATTERNS = {"contract_id": "^[0-9]{10}$", "serial": "^[0-9]{12}$", "otp": "^[0-9]{6,8}$",
            "old_otp": "^[0-9]{6,8}$", "first_otp": "^[0-9]{6,8}$",
            "second_otp": "^[0-9]{6,8}$", "reason": models.REASON,
            "client_public_key": activations.KEY_PATTERN}


def test_every_contract_id_serial_code_reason_and_key_has_its_pattern(api: Api) -> None:
    document = api.http.get("/api/openapi.json").json()
    seen = set()
    for label, name, schema in _request_schemas(document):
        if name in PATTERNS:
            seen.add(name)
            # An optional parameter's pattern may stand beside its anyOf: it applies to
            # the string either way.
            pattern = _string(schema).get("pattern") or schema.get("pattern")
            assert pattern == PATTERNS[name], (label, name)
        if name == "serial":
            described = _string(schema).get("description", "") + schema.get("description", "")
            assert "Luhn" in described, label
            assert "Luhn check digit" in operations(document)[label]["responses"]["422"][
                "description"], label
    assert seen == set(PATTERNS)


def test_the_key_pattern_is_exactly_the_canonical_base64url_of_32_bytes() -> None:
    pattern = re.compile(activations.KEY_PATTERN)
    for last in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":
        key = "A" * 42 + last
        try:
            from_b64url(key, field="key", length=KEY_LENGTH)
            decodes = True
        except InvalidInput:
            decodes = False
        assert bool(pattern.match(key)) is decodes, key


@pytest.mark.parametrize(("reason", "valid"), [
    ("紛失届", True), ("lost phone", True), (" x ", True), (" ", False), ("\u3000", False),
    ("\u00a0\u2003", False), ("a\x85b", False), ("a\x00b", False), ("a\nb", False),
])
def test_the_reason_pattern_says_what_the_server_takes(api: Api, reason: str,
                                                       valid: bool) -> None:
    assert bool(re.match(models.REASON, reason)) is valid
    serial = api.h.enroll(api.h.customer("1000000001")).token.serial
    response = api.post(f"/tokens/{serial}/suspend", {"reason": reason})
    assert (response.status_code == 200) is valid, response.text
