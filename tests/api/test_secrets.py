"""No code, password or client secret sent to the API reaches a log, the audit trail or a
response, with DEBUG logging and SQL echo on, and kinko's own handler writing JSON lines at
DEBUG; that log must hold each request's access line and each verification's decision."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kinko.services.issuance import IssuedToken
from kinko.store.rows import AuditEventRow
from tests.api.conftest import Api
from tests.security.logcapture import assert_no_secret, json_log
from tests.security.test_no_secrets_leak import NOISE
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD

CONTRACT = "1000000001"


def test_api_calls_leak_no_secret(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    h = api.h
    caplog.set_level(logging.DEBUG)
    customer = h.customer(CONTRACT)
    token = h.issue()
    codes: list[str] = []

    def code() -> str:
        value = h.code(token).reveal()
        codes.append(value)
        return value

    with json_log("debug") as jlog:
        h.kinko.engine.echo = "debug"
        try:
            responses = _call_every_kind(api, token, code, codes)
        finally:
            h.kinko.engine.echo = False
    assert [r.status_code for r in responses] == [401, 201, 200, 401, 401, 200, 422]
    assert customer.contract_id in caplog.text and "SELECT" in caplog.text

    with Session(h.kinko.engine) as session:
        audit = "\n".join(str(row.__dict__) for row in
                          session.execute(select(AuditEventRow)).scalars())
    answered = "\n".join(r.text for r in responses)
    bearer_secret = api.secret.split("_", 2)[2]
    secrets = [LOGIN_PASSWORD, CONFIRMATION_PASSWORD, "wrong-confirm-7", bearer_secret,
               "98765x"]
    assert_no_secret([caplog.text, jlog.text, audit, answered], secrets)
    plain = NOISE.sub(" ", caplog.text + jlog.text) + audit + answered
    for value in codes:
        assert not re.search(rf"(?<![0-9A-Za-z]){value}(?![0-9A-Za-z])", plain), value

    # What the JSON log promises: an access line per request, each verification's decision,
    # the contract ID masked in both, and one request id tying them together.
    access = jlog.of("kinko.access")
    assert [line["status"] for line in access] == [r.status_code for r in responses]
    assert [line["request_id"] for line in access] == [
        r.headers["X-Request-ID"] for r in responses]
    assert {line["route"] for line in access} == {
        "/api/v1/customers/{contract_id}/enrollment", "/api/v1/verify",
        "/api/v1/customers/{contract_id}/stop"}
    assert all(line["method"] == "POST" and line["duration_ms"] > 0 for line in access)
    assert access[0]["contract_id"] == "10****0001"
    decisions = jlog.of("kinko.services.verification")
    assert [line["outcome"] for line in decisions] == [
        "accepted", "accepted", "accepted", "replayed_code", "wrong_code", "accepted"]
    assert {line["contract_id"] for line in decisions} == {"10****0001"}
    assert {line["request_id"] for line in decisions} <= {line["request_id"] for line in access}
    own = [line for line in jlog.lines() if line["logger"].startswith("kinko")]
    assert not any(CONTRACT in str(line) for line in own)


def _call_every_kind(api: Api, token: IssuedToken, code: Callable[[], str],
                     codes: list[str]) -> list[Response]:
    """利用開始 (a wrong confirmation password, then right), a right, a replayed and a wrong
    code, 利用中止, and a malformed code."""
    h, responses = api.h, []
    enroll = {"login_password": LOGIN_PASSWORD, "serial": token.token.serial,
              "otp": code(), "login_otp_required": True,
              "confirmation_password": "wrong-confirm-7"}
    responses.append(api.post(f"/customers/{CONTRACT}/enrollment", enroll))
    h.next_step()
    enroll |= {"otp": code(), "confirmation_password": CONFIRMATION_PASSWORD}
    responses.append(api.post(f"/customers/{CONTRACT}/enrollment", enroll))
    h.next_step()
    for otp in (code(), codes[-1], h.wrong_code(token).reveal()):
        responses.append(api.post("/verify", {"contract_id": CONTRACT, "otp": otp,
                                              "purpose": "transaction"}))
    h.next_step()
    responses.append(api.post(f"/customers/{CONTRACT}/stop", {
        "login_password": LOGIN_PASSWORD, "otp": code(),
        "confirmation_password": CONFIRMATION_PASSWORD}))
    responses.append(api.post("/verify", {"contract_id": CONTRACT, "otp": "98765x",
                                          "purpose": "login"}))
    return responses
