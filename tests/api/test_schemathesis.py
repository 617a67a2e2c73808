"""schemathesis against /api/openapi.json, in-process (ASGI), as a real API client.

For every operation, a bounded number of generated requests, valid and invalid, must get no
5xx, and every response must match the document: a documented status, its media type and
its schema (problem documents included).

The operations are driven from one test per backend rather than with schemathesis' pytest
integration (``schemathesis.pytest.from_fixture``), whose lazy loading reaches into a private
attribute that pytest 9 no longer has; the strategies and checks are schemathesis' own.
"""

from __future__ import annotations

import pytest
import schemathesis
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
