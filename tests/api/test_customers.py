"""GET /api/v1/customers/{contract_id} and .../tokens: OTP status and token history."""

from __future__ import annotations

import pytest

from kinko.domain.errors import AuthenticationFailed
from kinko.domain.events import Action, Actor, Channel
from kinko.domain.model import PasswordKind
from kinko.domain.secrets import Password
from kinko.services import exchange
from kinko.services.credentials import check_password
from tests.api.conftest import Api, problem_code
from tests.support import LOGIN_PASSWORD

CONTRACT = "1000000001"


def test_a_customer_without_otp_uses_the_confirmation_password(api: Api) -> None:
    api.h.customer(CONTRACT)
    response = api.get(f"/customers/{CONTRACT}")
    assert response.status_code == 200
    assert response.json() == {
        "contract_id": CONTRACT, "otp_in_use": False, "login_otp_required": False,
        "transaction_method": "confirmation_password", "token": None,
        "login_password": {"failures": 0, "locked": False, "locked_at": None},
        "confirmation_password": {"failures": 0, "locked": False, "locked_at": None},
    }


def test_the_status_shows_the_bound_token_and_password_locks(api: Api) -> None:
    customer = api.h.customer(CONTRACT)
    issued = api.h.enroll(customer, login_otp=True)
    api.post("/verify", {"contract_id": CONTRACT, "otp": api.h.wrong_code(issued).reveal(),
                         "purpose": "login"})
    actor = Actor.customer(CONTRACT)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            check_password(api.h.ctx, customer.id, PasswordKind.CONFIRMATION,
                           Password("wrong-password"), actor=actor)
    body = api.get(f"/customers/{CONTRACT}").json()
    assert body["otp_in_use"] is True and body["login_otp_required"] is True
    assert body["transaction_method"] == "otp"
    assert body["token"]["serial"] == issued.token.serial
    assert body["token"]["state"] == "active" and body["token"]["failures"] == 1
    assert body["confirmation_password"]["locked"] is True
    assert body["confirmation_password"]["locked_at"] == "2026-04-01T09:00:30Z"
    assert body["login_password"] == {"failures": 0, "locked": False, "locked_at": None}


def test_the_history_lists_every_token_newest_first_with_its_events(api: Api) -> None:
    customer = api.h.customer(CONTRACT)
    old = api.h.enroll(customer)
    new = api.h.issue()
    started = exchange.begin(api.h.ctx, CONTRACT, Password(LOGIN_PASSWORD))
    confirmed = exchange.confirm_old_token(api.h.ctx, started, api.h.code(old))
    exchange.register_new_token(api.h.ctx, confirmed, new.token.serial, api.h.code(new))
    body = api.get(f"/customers/{CONTRACT}/tokens").json()
    tokens = body["tokens"]
    assert [t["serial"] for t in tokens] == [new.token.serial, old.token.serial]
    assert [(t["state"], t["current"], t["how_bound"]) for t in tokens] == [
        ("active", True, "exchange"), ("revoked", False, "enroll")]
    assert [e["action"] for e in tokens[1]["events"]] == [
        "token:issued", "token:bound", "token:exchanged"]


def test_unknown_and_malformed_contract_ids(api: Api) -> None:
    unknown = api.get("/customers/1999999999")
    malformed = api.get("/customers/12ab")
    assert unknown.status_code == 404 and problem_code(unknown) == "not_found"
    assert malformed.status_code == 422 and problem_code(malformed) == "invalid_input"
    assert api.get("/customers/1999999999/tokens").status_code == 404


def test_reads_are_audited_as_the_api_client(api: Api) -> None:
    api.h.customer(CONTRACT)
    api.get(f"/customers/{CONTRACT}")
    api.get(f"/customers/{CONTRACT}/tokens")
    reads = [(e.actor, e.channel, e.contract_id, e.reason) for e in api.events()
             if e.action is Action.API_READ]
    assert reads == [("api:ib-core", Channel.API, CONTRACT, "otp_status"),
                     ("api:ib-core", Channel.API, CONTRACT, "token_history")]
