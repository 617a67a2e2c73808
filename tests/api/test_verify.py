"""POST /api/v1/verify: the web's one verification path, reached by contract ID or serial."""

from __future__ import annotations

import pytest

from kinko.domain.events import OPERATOR, Action, Channel, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import StaffRole
from kinko.domain.secrets import Password
from kinko.services import staff, staff_accounts
from kinko.services.issuance import IssuedToken
from tests.api.conftest import Api, problem_code
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness
from tests.web.client import Browser, text_of

CONTRACT = "1000000001"


@pytest.fixture
def token(api: Api) -> IssuedToken:
    customer = api.h.customer(CONTRACT)
    return api.h.enroll(customer, login_otp=True)


def verify(api: Api, otp: str, *, purpose: str = "login", **target: str) -> dict[str, object]:
    response = api.post("/verify", {**(target or {"contract_id": CONTRACT}), "otp": otp,
                                    "purpose": purpose})
    return {"status": response.status_code, **response.json()}


def test_a_right_code_is_accepted_by_contract_id(api: Api, token: IssuedToken) -> None:
    result = verify(api, api.h.code(token).reveal())
    assert result == {"status": 200, "result": "accepted", "contract_id": CONTRACT,
                      "serial": token.token.serial, "drift": 0, "purpose": "login"}


def test_a_right_code_is_accepted_by_serial_with_separators(api: Api,
                                                            token: IssuedToken) -> None:
    serial = token.token.serial
    spaced = f"{serial[:4]} {serial[4:8]}-{serial[8:]}"
    result = verify(api, api.h.code(token, steps=1).reveal(), purpose="transaction",
                    serial=spaced)
    assert result["status"] == 200 and result["drift"] == 1
    assert result["purpose"] == "transaction" and result["contract_id"] == CONTRACT


def test_full_width_digits_are_accepted(api: Api, token: IssuedToken) -> None:
    code = api.h.code(token).reveal().translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert verify(api, code)["status"] == 200


def test_a_code_is_accepted_once(api: Api, token: IssuedToken) -> None:
    code = api.h.code(token).reveal()
    assert verify(api, code)["status"] == 200
    again = verify(api, code, serial=token.token.serial)
    assert again["status"] == 401 and again["code"] == "replayed_code"


def test_a_code_used_on_the_web_is_refused_by_the_api(api: Api, token: IssuedToken) -> None:
    code = api.h.code(token).reveal()
    browser = Browser(api.h)
    assert browser.login(CONTRACT, code).headers["location"] == "/home"
    result = verify(api, code)
    assert result["status"] == 401 and result["code"] == "replayed_code"


def test_a_code_used_by_the_api_is_refused_on_the_web(api: Api, token: IssuedToken) -> None:
    code = api.h.code(token).reveal()
    assert verify(api, code)["status"] == 200
    browser = Browser(api.h)
    response = browser.login(CONTRACT, code)
    assert response.status_code == 422  # the OTP page again, with the message
    assert "使用済み" in text_of(response)
    assert browser.get("/home").headers["location"] == "/login"


def test_wrong_codes_count_and_the_fifth_locks_the_token(api: Api, token: IssuedToken) -> None:
    wrong = api.h.wrong_code(token).reveal()
    for _ in range(4):
        result = verify(api, wrong)
        assert result["status"] == 401 and result["code"] == "wrong_code"
    locked = verify(api, wrong)
    assert locked["status"] == 423 and locked["code"] == "token_locked"
    right = verify(api, api.h.code(token).reveal())
    assert right["status"] == 423 and right["code"] == "token_locked"


def test_a_suspended_token_is_refused_with_423(api: Api, token: IssuedToken,
                                               harness: Harness) -> None:
    staff.suspend(harness.ctx, token.token.serial, reason="紛失届",
                  actor=OPERATOR)
    result = verify(api, api.h.code(token).reveal())
    assert result["status"] == 423 and result["code"] == "token_suspended"


def test_unknown_customers_and_serials_are_404(api: Api, token: IssuedToken) -> None:
    by_contract = verify(api, "123456", contract_id="1999999999")
    unbound = api.h.issue()
    by_serial = verify(api, "123456", serial=unbound.token.serial)
    assert (by_contract["status"], by_contract["code"]) == (404, "not_found")
    assert (by_serial["status"], by_serial["code"]) == (404, "not_found")


def test_a_staff_members_token_cannot_be_checked_through_the_api(api: Api) -> None:
    created = staff_accounts.add_staff(api.h.ctx, name="suzuki", display_name="鈴木",
                                       role=StaffRole.OPERATOR,
                                       password=Password("staff-password-1"))
    code = created.token.token.params.code_at(created.token.seed.reveal(),
                                              api.h.clock().timestamp())
    result = verify(api, code, serial=created.token.token.serial)
    assert (result["status"], result["code"]) == (404, "not_found")


def test_a_customer_without_otp_gets_409(api: Api) -> None:
    api.h.customer(CONTRACT)
    result = verify(api, "123456")
    assert (result["status"], result["code"]) == (409, "otp_not_in_use")


@pytest.mark.parametrize("body", [
    {"otp": "123456", "purpose": "login"},
    {"contract_id": CONTRACT, "serial": "123456789012", "otp": "123456", "purpose": "login"},
    {"contract_id": CONTRACT, "otp": "123456", "purpose": "payment"},
    {"contract_id": CONTRACT, "otp": 123456, "purpose": "login"},
    {"contract_id": CONTRACT, "purpose": "login"},
    {"contract_id": CONTRACT, "otp": "123456", "purpose": "login", "extra": 1},
    ["not", "an", "object"],
])
def test_malformed_requests_are_422_problems_naming_the_fields(api: Api, token: IssuedToken,
                                                               body: object) -> None:
    response = api.post("/verify", body)
    assert response.status_code == 422 and problem_code(response) == "invalid_request"
    assert response.json()["errors"], response.text
    assert "123456" not in response.text  # field values (a code!) are never echoed


@pytest.mark.parametrize(("field", "value"), [
    ("otp", "12345"), ("otp", "12a456"), ("contract_id", "10000000"), ("serial", "123456789013"),
])
def test_badly_formed_values_are_422_and_never_count_as_wrong_codes(
    api: Api, token: IssuedToken, field: str, value: str,
) -> None:
    body = {"contract_id": CONTRACT, "otp": "123456", "purpose": "login"}
    if field == "serial":
        del body["contract_id"]
    body[field] = value
    response = api.post("/verify", body)
    assert response.status_code == 422 and problem_code(response) == "invalid_input"
    with api.h.ctx.uow() as uow:
        assert uow.tokens.by_serial(token.token.serial).failures == 0  # type: ignore[union-attr]


def test_wrong_media_type_and_oversized_bodies_are_refused(api: Api, token: IssuedToken) -> None:
    headers = {"Authorization": f"Bearer {api.secret}"}
    form = api.http.post("/api/v1/verify", data={"otp": "123456"}, headers=headers)
    assert form.status_code == 415 and problem_code(form) == "unsupported_media_type"
    huge = api.http.post("/api/v1/verify", content=b"{" + b" " * 20_000 + b"}",
                         headers={**headers, "Content-Type": "application/json"})
    assert huge.status_code == 413 and problem_code(huge) == "body_too_large"
    broken = api.http.post("/api/v1/verify", content=b'{"otp": ',
                           headers={**headers, "Content-Type": "application/json"})
    assert broken.status_code == 400 and problem_code(broken) == "invalid_json"


def test_every_check_is_audited_as_the_api_client(api: Api, token: IssuedToken) -> None:
    verify(api, api.h.code(token).reveal())
    verify(api, api.h.wrong_code(token).reveal())
    verify(api, "123456", contract_id="1999999999")
    api.h.next_step()
    verify(api, api.h.code(token).reveal(), purpose="transaction")  # the one-statement path
    checks = [e for e in api.events() if e.action is Action.TOKEN_CODE_CHECKED
              and e.channel is Channel.API]
    # An accepted code's reason is its purpose; a refusal's is the error's code.
    assert [(e.actor, e.outcome, e.contract_id, e.reason) for e in checks] == [
        ("api:ib-core", Outcome.SUCCESS, CONTRACT, "login"),
        ("api:ib-core", Outcome.FAILURE, CONTRACT, "wrong_code"),
        ("api:ib-core", Outcome.FAILURE, "1999999999", "not_found"),
        ("api:ib-core", Outcome.SUCCESS, CONTRACT, "transaction"),
    ]


# A contract ID or serial answers with whichever token is bound to it now: no server keeps
# a memory of it that could outlive an exchange, a suspension or a stop.

def test_a_remembered_contract_follows_the_customer_to_a_new_token(api: Api,
                                                                   token: IssuedToken) -> None:
    assert verify(api, api.h.code(token).reveal())["status"] == 200
    new = api.h.issue()
    api.h.next_step()
    exchanged = api.post(f"/customers/{CONTRACT}/exchange", {
        "login_password": LOGIN_PASSWORD, "old_otp": api.h.code(token).reveal(),
        "serial": new.token.serial, "otp": api.h.code(new).reveal()})
    assert exchanged.status_code == 200
    api.h.next_step()
    old_code = verify(api, api.h.code(token).reveal())
    assert old_code["status"] == 401 and old_code["code"] == "wrong_code"
    accepted = verify(api, api.h.code(new).reveal())
    assert accepted["status"] == 200 and accepted["serial"] == new.token.serial
    by_old_serial = verify(api, api.h.code(token).reveal(), serial=token.token.serial)
    assert by_old_serial["code"] == "token_revoked"


def test_a_remembered_token_that_was_suspended_or_stopped_is_refused(
        api: Api, token: IssuedToken, harness: Harness) -> None:
    serial = token.token.serial
    assert verify(api, api.h.code(token).reveal(), serial=serial)["status"] == 200
    staff.suspend(harness.ctx, serial, reason="紛失届", actor=OPERATOR)
    api.h.next_step()
    suspended = verify(api, api.h.code(token).reveal(), serial=serial)
    assert suspended["status"] == 423 and suspended["code"] == "token_suspended"
    staff.resume(harness.ctx, serial, reason="発見", actor=OPERATOR)
    api.h.next_step()
    assert verify(api, api.h.code(token).reveal(), serial=serial)["status"] == 200
    api.h.next_step()
    stopped = api.post(f"/customers/{CONTRACT}/stop", {
        "login_password": LOGIN_PASSWORD, "otp": api.h.code(token).reveal(),
        "confirmation_password": CONFIRMATION_PASSWORD})
    assert stopped.status_code == 200
    api.h.next_step()
    assert verify(api, api.h.code(token).reveal())["code"] == "otp_not_in_use"
    assert verify(api, api.h.code(token).reveal(), serial=serial)["code"] == "token_revoked"


def test_the_token_state_is_untouched_by_a_refused_client(api: Api, token: IssuedToken) -> None:
    no_verify = api.client("auditor", ["audit"])
    response = api.post("/verify", {"contract_id": CONTRACT,
                                    "otp": api.h.wrong_code(token).reveal(),
                                    "purpose": "login"}, secret=no_verify)
    assert response.status_code == 403
    with api.h.ctx.uow() as uow:
        stored = uow.tokens.by_serial(token.token.serial)
    assert stored is not None and stored.failures == 0 and stored.state is TokenState.ACTIVE
