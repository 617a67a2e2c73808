"""The API's OpenAPI document and its self-contained documentation page."""

from __future__ import annotations

from typing import Any

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
    for model, field in [("VerifyRequest", "otp"), ("EnrollmentRequest", "login_password"),
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
