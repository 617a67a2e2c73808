"""The API's staff actions take a serial alone: a staff member's sign-in token is never one
of them (404, the token untouched, the refusal audited with the calling client)."""

from __future__ import annotations

import pytest

from kinko.domain.events import Action, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import StaffRole
from kinko.domain.secrets import Password
from kinko.services import staff_accounts
from kinko.services.issuance import IssuedToken
from tests.api.conftest import Api, problem_code

AUDITED = {"suspend": Action.TOKEN_SUSPENDED, "resume": Action.TOKEN_RESUMED,
           "unlock": Action.TOKEN_UNLOCKED, "resync": Action.TOKEN_RESYNCED,
           "revoke": Action.REQUEST_CREATED}


@pytest.fixture
def staff_token(api: Api) -> IssuedToken:
    api.h.enroll(api.h.customer("1000000001"))
    return staff_accounts.add_staff(api.h.ctx, name="sato", display_name="佐藤",
                                    role=StaffRole.SUPERVISOR,
                                    password=Password("supervisor-pass-1")).token


@pytest.mark.parametrize("action", ["suspend", "resume", "unlock", "resync", "revoke"])
def test_a_staff_members_token_is_not_found_through_the_api(
    api: Api, staff_token: IssuedToken, action: str,
) -> None:
    serial = staff_token.token.serial
    if action == "revoke":
        response = api.post("/requests", {"kind": "revoke", "serial": serial,
                                          "reason": "紛失届"})
    else:
        body = {"reason": "紛失届"}
        if action == "resync":
            body |= {"first_otp": api.h.code(staff_token, steps=20).reveal(),
                     "second_otp": api.h.code(staff_token, steps=21).reveal()}
        response = api.post(f"/tokens/{serial}/{action}", body)
    assert response.status_code == 404 and problem_code(response) == "not_found"
    with api.h.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
        assert token is not None and token.state is TokenState.ACTIVE and token.drift == 0
        assert list(uow.requests.pending()) == []
    refused = [(e.action, e.outcome, e.actor, e.reason) for e in api.events(serial=serial)
               if e.actor.startswith("api:")]
    assert refused == [(AUDITED[action], Outcome.FAILURE, "api:ib-core", "not_customers_token")]
