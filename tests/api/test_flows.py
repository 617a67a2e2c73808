"""利用開始 / 利用中止 / 交換 for an IB front end that is not kinko's own, in the guide's order."""

from __future__ import annotations

from typing import Any

from kinko.domain.events import Action, Channel
from kinko.domain.lifecycle import TokenState
from kinko.domain.notices import NoticeKind
from kinko.services.issuance import IssuedToken
from tests.api.conftest import Api, problem_code
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD

CONTRACT = "1000000001"


def enrollment(api: Api, token: IssuedToken, **changes: Any) -> dict[str, Any]:
    return {"login_password": LOGIN_PASSWORD, "serial": token.token.serial,
            "otp": api.h.code(token).reveal(), "login_otp_required": True,
            "confirmation_password": CONFIRMATION_PASSWORD, **changes}


def state_of(api: Api, token: IssuedToken) -> TokenState:
    with api.h.ctx.uow() as uow:
        stored = uow.tokens.by_serial(token.token.serial)
    assert stored is not None
    return stored.state


def test_enrollment_binds_the_token_and_sets_the_login_choice(api: Api) -> None:
    api.h.customer(CONTRACT)
    token = api.h.issue()
    response = api.post(f"/customers/{CONTRACT}/enrollment", enrollment(api, token))
    assert response.status_code == 201
    assert response.json() == {"contract_id": CONTRACT, "serial": token.token.serial,
                               "state": "active", "login_otp_required": True}
    status = api.get(f"/customers/{CONTRACT}").json()
    assert status["otp_in_use"] is True and status["login_otp_required"] is True


def test_enrollment_events_name_the_api_client_and_the_customer_is_notified(api: Api) -> None:
    api.h.customer(CONTRACT)
    token = api.h.issue()
    api.post(f"/customers/{CONTRACT}/enrollment", enrollment(api, token))
    events = [e for e in api.events(contract_id=CONTRACT) if e.channel is Channel.API]
    assert [e.action for e in events] == [
        Action.LOGIN_PASSWORD_CHECKED, Action.TOKEN_CODE_CHECKED,
        Action.CONFIRMATION_PASSWORD_CHECKED, Action.TOKEN_BOUND]
    assert {e.actor for e in events} == {"api:ib-core"}
    with api.h.ctx.uow() as uow:
        kinds = [n.notice.kind for n in uow.outbox.listing(contract_id=CONTRACT)]
    assert kinds == [NoticeKind.REGISTERED]


def test_enrollment_refuses_a_wrong_login_password_before_touching_the_token(api: Api) -> None:
    api.h.customer(CONTRACT)
    token = api.h.issue()
    response = api.post(f"/customers/{CONTRACT}/enrollment",
                        enrollment(api, token, login_password="wrong-password"))
    assert response.status_code == 401 and problem_code(response) == "wrong_password"
    assert state_of(api, token) is TokenState.UNBOUND
    retry = api.post(f"/customers/{CONTRACT}/enrollment", enrollment(api, token))
    assert retry.status_code == 201  # the code was never checked, so it is still good


def test_a_wrong_confirmation_password_leaves_the_token_unbound_and_its_code_spent(
    api: Api,
) -> None:
    api.h.customer(CONTRACT)
    token = api.h.issue()
    body = enrollment(api, token, confirmation_password="wrong-password")
    response = api.post(f"/customers/{CONTRACT}/enrollment", body)
    assert response.status_code == 401 and problem_code(response) == "wrong_password"
    assert state_of(api, token) is TokenState.UNBOUND
    again = api.post(f"/customers/{CONTRACT}/enrollment",
                     {**body, "confirmation_password": CONFIRMATION_PASSWORD})
    assert again.status_code == 401 and problem_code(again) == "replayed_code"
    api.h.next_step()
    assert api.post(f"/customers/{CONTRACT}/enrollment",
                    enrollment(api, token)).status_code == 201


def test_enrollment_failures(api: Api) -> None:
    customer = api.h.customer(CONTRACT)
    enrolled = api.h.enroll(customer)
    other = api.h.issue()
    already = api.post(f"/customers/{CONTRACT}/enrollment", enrollment(api, other))
    assert already.status_code == 409 and problem_code(already) == "otp_already_in_use"
    api.h.customer("1000000002")
    taken = api.post("/customers/1000000002/enrollment", enrollment(api, enrolled))
    assert taken.status_code == 404 and problem_code(taken) == "not_found"
    wrong = api.post("/customers/1000000002/enrollment",
                     enrollment(api, other, otp=api.h.wrong_code(other).reveal()))
    assert wrong.status_code == 401 and problem_code(wrong) == "wrong_code"
    missing = api.post("/customers/1000000002/enrollment",
                       {"login_password": LOGIN_PASSWORD, "serial": other.token.serial})
    assert missing.status_code == 422 and problem_code(missing) == "invalid_request"
    fields = {e["field"] for e in missing.json()["errors"]}
    assert fields == {"body.otp", "body.login_otp_required", "body.confirmation_password"}
    as_text = api.post("/customers/1000000002/enrollment",
                       enrollment(api, other, login_otp_required="yes"))
    assert as_text.status_code == 422


def test_stop_returns_the_customer_to_the_confirmation_password(api: Api) -> None:
    customer = api.h.customer(CONTRACT)
    token = api.h.enroll(customer, login_otp=True)
    response = api.post(f"/customers/{CONTRACT}/stop", {
        "login_password": LOGIN_PASSWORD, "otp": api.h.code(token).reveal(),
        "confirmation_password": CONFIRMATION_PASSWORD})
    assert response.status_code == 200
    assert response.json() == {"contract_id": CONTRACT, "serial": token.token.serial,
                               "state": "revoked",
                               "transaction_method": "confirmation_password"}
    assert state_of(api, token) is TokenState.REVOKED
    status = api.get(f"/customers/{CONTRACT}").json()
    assert status["otp_in_use"] is False and status["login_otp_required"] is False
    stopped = [e for e in api.events(contract_id=CONTRACT) if e.action is Action.TOKEN_STOPPED]
    assert [(e.actor, e.channel) for e in stopped] == [("api:ib-core", Channel.API)]


def test_stop_failures(api: Api) -> None:
    customer = api.h.customer(CONTRACT)
    body = {"login_password": LOGIN_PASSWORD, "otp": "123456",
            "confirmation_password": CONFIRMATION_PASSWORD}
    none = api.post(f"/customers/{CONTRACT}/stop", body)
    assert none.status_code == 409 and problem_code(none) == "otp_not_in_use"
    token = api.h.enroll(customer)
    wrong = api.post(f"/customers/{CONTRACT}/stop",
                     {**body, "otp": api.h.wrong_code(token).reveal()})
    assert wrong.status_code == 401 and problem_code(wrong) == "wrong_code"
    assert state_of(api, token) is TokenState.ACTIVE


def test_exchange_moves_to_the_new_token_and_keeps_the_old_until_then(api: Api) -> None:
    customer = api.h.customer(CONTRACT)
    old = api.h.enroll(customer)
    new = api.h.issue()
    body = {"login_password": LOGIN_PASSWORD, "old_otp": api.h.code(old).reveal(),
            "serial": new.token.serial, "otp": api.h.wrong_code(new).reveal()}
    failed = api.post(f"/customers/{CONTRACT}/exchange", body)
    assert failed.status_code == 401 and problem_code(failed) == "wrong_code"
    assert state_of(api, old) is TokenState.ACTIVE  # the old app keeps working
    api.h.next_step()
    response = api.post(f"/customers/{CONTRACT}/exchange", {
        **body, "old_otp": api.h.code(old).reveal(), "otp": api.h.code(new).reveal()})
    assert response.status_code == 200
    assert response.json() == {"contract_id": CONTRACT, "old_serial": old.token.serial,
                               "serial": new.token.serial, "state": "active"}
    assert state_of(api, old) is TokenState.REVOKED
    assert state_of(api, new) is TokenState.ACTIVE


def test_flows_need_the_manage_scope(api: Api) -> None:
    verifier = api.client("ivr", ["verify", "audit"])
    api.h.customer(CONTRACT)
    token = api.h.issue()
    response = api.post(f"/customers/{CONTRACT}/enrollment", enrollment(api, token),
                        secret=verifier)
    assert response.status_code == 403 and problem_code(response) == "forbidden"
    assert state_of(api, token) is TokenState.UNBOUND
