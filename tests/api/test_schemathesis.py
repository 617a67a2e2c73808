"""schemathesis against /api/openapi.json, in-process (ASGI), as a real API client.

For every operation, a bounded number of generated requests, valid and invalid, must get no
5xx, and every response must match the document: a documented status, its media type and
its schema (problem documents included). A second run sends valid requests only: the
document must be as strict as the server, so that a client generated from it never sends
a request the server refuses as malformed (400, 413, 415, 422), but for the one refusal a
schema cannot say and the document names: a serial's Luhn check digit (and an activation
key that is a low-order X25519 point).

The operations are driven from one test per backend rather than with schemathesis' pytest
integration (``schemathesis.pytest.from_fixture``), whose lazy loading reaches into a private
attribute that pytest 9 no longer has; the strategies and checks are schemathesis' own.
"""

from __future__ import annotations

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kinko.domain import activation as protocol
from kinko.domain.errors import InvalidInput
from kinko.domain.serials import is_valid_serial
from kinko.services import api_clients, integration
from kinko.web.app import create_app
from tests.support import Harness

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
#: Requests per operation are twice this (valid and invalid ones): 14 × 50 in all.
MAX_EXAMPLES = 25


def _data(harness: Harness) -> tuple[str, dict[str, str]]:
    """Customers, tokens, a request and a client with every scope; and the path values that
    reach those rows, so that generated requests get past "not found" as well."""
    issued = harness.enroll(harness.customer("1000000001"), login_otp=True)
    harness.customer("1000000002")
    harness.issue()
    client = api_clients.add_client(harness.ctx, "fuzzer", ["verify", "manage", "audit"])
    request = integration.request_revoke(harness.ctx, client.client, issued.token.serial,
                                         "紛失届")
    known = {"contract_id": "1000000001", "serial": issued.token.serial,
             "request_id": str(request.id)}
    return client.bearer.reveal(), known


def _strategy(operation: APIOperation, known: dict[str, str]) -> SearchStrategy[Case]:
    """Valid and invalid requests, and valid ones aimed at the rows of ``_data``."""
    modes = [operation.as_strategy(GenerationMode.POSITIVE),
             operation.as_strategy(GenerationMode.NEGATIVE)]
    aimed = {name: value for name, value in known.items() if f"{{{name}}}" in operation.path}
    if aimed:
        modes.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=aimed))
    return st.one_of(modes)


@pytest.mark.slow
def test_the_api_matches_its_openapi_document(harness: Harness) -> None:
    bearer, known = _data(harness)
    headers = {"Authorization": f"Bearer {bearer}"}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(harness.kinko))
    operations = [result.ok() for result in schema.get_all_operations()
                  if isinstance(result, Ok)]
    assert len(operations) >= 14
    failures: dict[str, BaseException] = {}
    for operation in operations:
        @given(case=_strategy(operation, known))
        @settings(max_examples=2 * MAX_EXAMPLES, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def conforms(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            conforms()
        except Exception as error:  # collect every operation's failure, then report
            failures[operation.label] = error
    report = "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())
    assert not failures, report


#: Valid requests per operation in the second run (twice that when aimed at known rows).
MAX_VALID_EXAMPLES = 25
MALFORMED = (400, 413, 415, 422)


def _wrong_check_digit(case: Case) -> bool:
    """Whether the request names a serial whose Luhn check digit is wrong (the pattern
    ``^[0-9]{12}$`` holds for every serial of a valid request; the check digit cannot)."""
    places = (case.path_parameters, case.query, case.body)
    serials = [place["serial"] for place in places
               if isinstance(place, dict) and isinstance(place.get("serial"), str)]
    return any(not is_valid_serial(serial) for serial in serials)


def _low_order_key(case: Case) -> bool:
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("client_public_key"), str):
        return False
    try:
        key = protocol.public_key_from_bytes(protocol.from_b64url(
            body["client_public_key"], field="key", length=protocol.KEY_LENGTH), field="key")
        protocol.derive_seed(X25519PrivateKey.generate(), key,
                             salt=bytes(protocol.SALT_LENGTH), serial="000000000000")
    except InvalidInput:
        return True
    return False


def _documented_refusal(case: Case, status: int, code: object) -> bool:
    """The refusals of a valid request that the document names (see its descriptions)."""
    return status == 422 and code == "invalid_input" and (
        _wrong_check_digit(case) or _low_order_key(case))


@pytest.mark.slow
def test_no_request_valid_by_the_document_is_refused_as_malformed(harness: Harness) -> None:
    bearer, known = _data(harness)
    # Enough activations that the per-address limit (a documented 429) hides nothing.
    harness.kinko.settings.activation_limit_attempts = 1_000_000
    headers = {"Authorization": f"Bearer {bearer}"}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(harness.kinko))
    operations = [result.ok() for result in schema.get_all_operations()
                  if isinstance(result, Ok)]
    assert len(operations) >= 14
    refused: list[str] = []
    for operation in operations:
        aimed = {name: value for name, value in known.items()
                 if f"{{{name}}}" in operation.path}
        modes = [operation.as_strategy(GenerationMode.POSITIVE)]
        if aimed:
            modes.append(operation.as_strategy(GenerationMode.POSITIVE,
                                               path_parameters=aimed))

        @given(case=st.one_of(modes))
        @settings(max_examples=MAX_VALID_EXAMPLES * len(modes), deadline=None,
                  derandomize=True, database=None, suppress_health_check=list(HealthCheck))
        def valid(case: Case) -> None:
            response = case.call(headers=headers)
            if response.status_code < 500 and response.status_code not in MALFORMED:
                return
            try:
                code = response.json().get("code")
            except ValueError:
                code = None
            if not _documented_refusal(case, response.status_code, code):
                refused.append(f"{case.operation.label}: {response.status_code} {code} "
                               f"{response.text[:160]}\n    {case.as_curl_command()}")

        valid()
    assert not refused, f"{len(refused)} valid requests refused:\n" + "\n".join(
        dict.fromkeys(refused))
