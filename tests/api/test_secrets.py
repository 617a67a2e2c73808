"""No code, password or client secret sent to the API reaches a log, the audit trail or a
response, with DEBUG logging and SQL echo on."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kinko.store.rows import AuditEventRow
from tests.api.conftest import Api
from tests.security.test_no_secrets_leak import NOISE
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD

CONTRACT = "1000000001"


def test_api_calls_leak_no_secret(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    h = api.h
    caplog.set_level(logging.DEBUG)
    customer = h.customer(CONTRACT)
    token = h.issue()
    codes: list[str] = []

    def code(steps: int = 0, issued: object = token) -> str:
        value = h.code(issued, steps=steps).reveal()  # type: ignore[arg-type]
        codes.append(value)
        return value

    responses = []
    h.kinko.engine.echo = "debug"
    try:
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
    finally:
        h.kinko.engine.echo = False
    assert [r.status_code for r in responses] == [401, 201, 200, 401, 401, 200, 422]
    assert customer.contract_id in caplog.text and "SELECT" in caplog.text

    with Session(h.kinko.engine) as session:
        audit = "\n".join(str(row.__dict__) for row in
                          session.execute(select(AuditEventRow)).scalars())
    answered = "\n".join(r.text for r in responses)
    bearer_secret = api.secret.split("_", 2)[2]
    for text in (caplog.text, audit, answered):
        for secret in (LOGIN_PASSWORD, CONFIRMATION_PASSWORD, "wrong-confirm-7",
                       bearer_secret, "98765x"):
            assert secret not in text
    plain = NOISE.sub(" ", caplog.text) + audit + answered
    for value in codes:
        assert not re.search(rf"(?<![0-9A-Za-z]){value}(?![0-9A-Za-z])", plain), value
