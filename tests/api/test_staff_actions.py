"""Staff actions for call-centre systems: suspend, resume, unlock and resync at once; revoke
and password unlock only as four-eyes requests that a supervisor approves in the console."""

from __future__ import annotations

import pytest

from kinko.domain.errors import AuthenticationFailed
from kinko.domain.events import Action, Actor, Channel
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import PasswordKind, StaffMember, StaffRole
from kinko.domain.notices import NoticeKind
from kinko.domain.secrets import Password
from kinko.domain.serials import luhn_check_digit
from kinko.services import approvals, staff_accounts
from kinko.services.credentials import check_password
from kinko.services.issuance import IssuedToken
from tests.api.conftest import Api, problem_code

CONTRACT = "1000000001"


@pytest.fixture
def token(api: Api) -> IssuedToken:
    return api.h.enroll(api.h.customer(CONTRACT))


def supervisor(api: Api, name: str = "tanaka") -> StaffMember:
    return staff_accounts.add_staff(api.h.ctx, name=name, display_name=name,
                                    role=StaffRole.SUPERVISOR,
                                    password=Password("supervisor-pass-1")).member


def act(api: Api, serial: str, action: str,
        reason: str = "紛失届") -> tuple[int, dict[str, object]]:
    response = api.post(f"/tokens/{serial}/{action}", {"reason": reason})
    return response.status_code, response.json()


def test_suspend_and_resume(api: Api, token: IssuedToken) -> None:
    serial = token.token.serial
    assert act(api, serial, "suspend") == (
        200, {"serial": serial, "state": "suspended", "failures": 0, "drift": 0})
    refused = api.post("/verify", {"serial": serial, "otp": api.h.code(token).reveal(),
                                   "purpose": "transaction"})
    assert refused.status_code == 423 and problem_code(refused) == "token_suspended"
    assert act(api, serial, "resume", "本人申出")[1]["state"] == "active"
    done = [(e.action, e.actor, e.channel, e.reason) for e in api.events(serial=serial)
            if e.action in (Action.TOKEN_SUSPENDED, Action.TOKEN_RESUMED)]
    assert done == [(Action.TOKEN_SUSPENDED, "api:ib-core", Channel.API, "紛失届"),
                    (Action.TOKEN_RESUMED, "api:ib-core", Channel.API, "本人申出")]


def test_the_customer_is_told_of_a_suspension_made_through_the_api(api: Api,
                                                                   token: IssuedToken) -> None:
    act(api, token.token.serial, "suspend")
    with api.h.ctx.uow() as uow:
        kinds = [n.notice.kind for n in uow.outbox.listing(contract_id=CONTRACT)]
    assert NoticeKind.SUSPENDED in kinds


def test_unlock_after_five_wrong_codes(api: Api, token: IssuedToken) -> None:
    for _ in range(5):
        api.post("/verify", {"contract_id": CONTRACT, "otp": api.h.wrong_code(token).reveal(),
                             "purpose": "login"})
    status, body = act(api, token.token.serial, "unlock", "誤入力ロック")
    assert (status, body["state"], body["failures"]) == (200, "active", 0)


def test_resync_from_two_consecutive_codes(api: Api, token: IssuedToken) -> None:
    far = 20  # steps the phone's clock is ahead
    response = api.post(f"/tokens/{token.token.serial}/resync", {
        "reason": "時刻ずれ", "first_otp": api.h.code(token, steps=far).reveal(),
        "second_otp": api.h.code(token, steps=far + 1).reveal()})
    assert response.status_code == 200 and response.json()["drift"] == far + 1
    wrong = api.post(f"/tokens/{token.token.serial}/resync", {
        "reason": "時刻ずれ", "first_otp": "000000", "second_otp": "000000"})
    assert wrong.status_code == 401 and problem_code(wrong) in ("wrong_code", "replayed_code")


def test_actions_not_allowed_in_the_state_are_409(api: Api, token: IssuedToken) -> None:
    status, body = act(api, token.token.serial, "resume")
    assert (status, body["code"]) == (409, "invalid_transition")
    unlocked = act(api, token.token.serial, "unlock")
    assert (unlocked[0], unlocked[1]["code"]) == (409, "invalid_transition")


def test_unknown_unbound_and_staff_tokens_are_404(api: Api, token: IssuedToken) -> None:
    staff_token = staff_accounts.add_staff(
        api.h.ctx, name="suzuki", display_name="鈴木", role=StaffRole.OPERATOR,
        password=Password("operator-pass-1")).token.token.serial
    unknown = "12345678901" + luhn_check_digit("12345678901")
    for serial in (unknown, api.h.issue().token.serial, staff_token):
        status, body = act(api, serial, "suspend")
        assert (status, body["code"]) == (404, "not_found"), serial
    bad = act(api, "1234", "suspend")
    assert (bad[0], bad[1]["code"]) == (422, "invalid_input")


@pytest.mark.parametrize("reason", ["", " " * 3, "x" * 201, "理由\x00", "tab\there"])
def test_a_reason_is_required_and_plain(api: Api, token: IssuedToken, reason: str) -> None:
    status, body = act(api, token.token.serial, "suspend", reason)
    assert status == 422 and body["code"] in ("invalid_request", "invalid_input")


def test_there_is_no_way_to_revoke_alone(api: Api, token: IssuedToken) -> None:
    status, _ = act(api, token.token.serial, "revoke")
    assert status in (404, 405)
    request = api.post("/requests", {"kind": "revoke", "serial": token.token.serial,
                                     "reason": "紛失届"})
    assert request.status_code == 202
    body = request.json()
    assert (body["state"], body["requested_by"], body["kind"]) == (
        "pending", "api:ib-core", "revoke")
    with api.h.ctx.uow() as uow:
        assert uow.tokens.by_serial(token.token.serial).state is TokenState.ACTIVE  # type: ignore[union-attr]
    again = api.post("/requests", {"kind": "revoke", "serial": token.token.serial,
                                   "reason": "紛失届"})
    assert again.status_code == 409 and problem_code(again) == "conflict"


def test_a_supervisor_approves_an_api_request_in_the_console(api: Api,
                                                             token: IssuedToken) -> None:
    created = api.post("/requests", {"kind": "revoke", "serial": token.token.serial,
                                     "reason": "アプリ削除"}).json()
    boss = supervisor(api)
    approvals.approve(api.h.ctx, boss, created["id"])
    decided = api.get(f"/requests/{created['id']}").json()
    assert (decided["state"], decided["decided_by"]) == ("approved", "tanaka")
    with api.h.ctx.uow() as uow:
        assert uow.tokens.by_serial(token.token.serial).state is TokenState.REVOKED  # type: ignore[union-attr]
    trail = [(e.action, e.actor) for e in api.events(contract_id=CONTRACT)
             if e.action.value.startswith("staff:request") or e.action is Action.TOKEN_REVOKED]
    assert trail == [(Action.REQUEST_CREATED, "api:ib-core"),
                     (Action.REQUEST_APPROVED, "staff:tanaka"),
                     (Action.TOKEN_REVOKED, "staff:tanaka")]


def test_a_password_unlock_request(api: Api) -> None:
    customer = api.h.customer(CONTRACT)
    body = {"kind": "unlock_password", "contract_id": CONTRACT, "password": "login",
            "reason": "本人確認済み"}
    not_locked = api.post("/requests", body)
    assert not_locked.status_code == 409 and problem_code(not_locked) == "conflict"
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            check_password(api.h.ctx, customer.id, PasswordKind.LOGIN, Password("wrong-pass"),
                           actor=Actor.customer(CONTRACT))
    created = api.post("/requests", body)
    assert created.status_code == 202 and created.json()["password"] == "login"
    approvals.approve(api.h.ctx, supervisor(api), created.json()["id"])
    status = api.get(f"/customers/{CONTRACT}").json()
    assert status["login_password"]["locked"] is False


def test_request_bodies_and_ids_are_checked(api: Api) -> None:
    odd = api.post("/requests", {"kind": "delete_everything", "reason": "x"})
    assert odd.status_code == 422 and problem_code(odd) == "invalid_request"
    unknown = api.get("/requests/999999")
    assert unknown.status_code == 404 and problem_code(unknown) == "not_found"
    assert api.get("/requests/0").status_code == 422
    assert api.get(f"/requests/{2**40}").status_code == 422


def test_no_api_client_can_approve(api: Api, token: IssuedToken) -> None:
    """Approval needs a staff member; an API client is not one, whatever its scopes."""
    created = api.post("/requests", {"kind": "revoke", "serial": token.token.serial,
                                     "reason": "紛失届"}).json()
    for path in (f"/requests/{created['id']}/approve", f"/requests/{created['id']}"):
        assert api.post(path, {}).status_code in (404, 405)
    assert api.get(f"/requests/{created['id']}").json()["state"] == "pending"
