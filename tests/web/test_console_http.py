"""The staff console over HTTP: sign-in with password and TOTP, roles, four-eyes
approvals, the audit page, and the wall between customer and staff sessions."""

from __future__ import annotations

import csv
import io

import pytest

from kinko.domain.events import Action, AuditEvent, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import StaffRole, Token
from kinko.domain.notices import NoticeKind
from kinko.domain.secrets import Password
from kinko.services import audit
from kinko.services.issuance import IssuedToken
from kinko.services.staff_accounts import add_staff, unlock_staff
from tests.support import LOGIN_PASSWORD, Harness
from tests.web.client import Browser, text_of

STAFF_PASSWORD = "console-pass-1"


class Staff:
    def __init__(self, h: Harness, name: str, role: StaffRole) -> None:
        self.h = h
        self.name = name
        self.token: IssuedToken = add_staff(
            h.ctx, name=name, display_name=name, role=role,
            password=Password(STAFF_PASSWORD)).token
        self.browser = Browser(h)

    def sign_in(self, *, code: str | None = None) -> None:
        self.h.next_step()  # a fresh step, so no earlier sign-in's code is replayed
        response = self.console_post("/console/login", {
            "staff_id": self.name, "password": STAFF_PASSWORD,
            "otp": code or self.h.code(self.token).reveal()})
        assert response.headers.get("location") == "/console", text_of(response)[:300]

    def console_post(self, url: str, data: dict[str, str]):
        page = self.browser.get(url if url != "/console/login" else "/console/login")
        assert page.status_code in (200, 303, 307)
        return self.browser.post(url, data)

    def act(self, contract_id: str, serial: str, action: str, reason: str = "紛失届",
            **extra: str):
        self.browser.get(f"/console/customers/{contract_id}")
        response = self.browser.post(
            f"/console/customers/{contract_id}/tokens/{serial}/{action}",
            {"reason": reason, "reason_text": "", **extra})
        assert response.status_code == 303
        return self.browser.get(response.headers["location"])


@pytest.fixture
def operator(harness: Harness) -> Staff:
    return Staff(harness, "suzuki", StaffRole.OPERATOR)


@pytest.fixture
def supervisor(harness: Harness) -> Staff:
    return Staff(harness, "sato", StaffRole.SUPERVISOR)


def state(h: Harness, serial: str) -> TokenState:
    with h.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
    assert token is not None
    return token.state


def test_sign_in_needs_the_password_and_the_staff_members_own_code(operator: Staff) -> None:
    h, b = operator.h, operator.browser
    b.get("/console/login")
    wrong = b.post("/console/login", {"staff_id": "suzuki", "password": STAFF_PASSWORD,
                                      "otp": h.wrong_code(operator.token).reveal()})
    assert wrong.status_code == 422
    assert "職員ID、パスワードまたはワンタイムパスワードが正しくありません。" in text_of(wrong)
    bad_password = b.post("/console/login", {"staff_id": "suzuki", "password": "nope-nope-1",
                                             "otp": h.code(operator.token).reveal()})
    assert "職員ID、パスワードまたは" in text_of(bad_password)
    code = h.code(operator.token).reveal()
    ok = b.post("/console/login", {"staff_id": "suzuki", "password": STAFF_PASSWORD,
                                   "otp": code})
    assert ok.headers["location"] == "/console"
    # The same code again, e.g. by someone looking over the shoulder: replay refused.
    other = Browser(h)
    other.get("/console/login")
    replay = other.post("/console/login", {"staff_id": "suzuki", "password": STAFF_PASSWORD,
                                           "otp": code})
    assert replay.status_code == 422


def test_five_wrong_staff_passwords_lock_until_kinko_staff_unlock(operator: Staff) -> None:
    h, b = operator.h, operator.browser
    b.get("/console/login")
    for _ in range(h.ctx.policy.max_password_failures):
        b.post("/console/login", {"staff_id": "suzuki", "password": "nope-nope-1",
                                  "otp": h.code(operator.token).reveal()})
    # Locked: the right password and code read like any failure, and are audited as locked.
    locked = b.post("/console/login", {"staff_id": "suzuki", "password": STAFF_PASSWORD,
                                       "otp": h.code(operator.token).reveal()})
    assert locked.status_code == 422
    assert "職員ID、パスワードまたは" in text_of(locked)
    with h.ctx.uow() as uow:
        reasons = [e.reason for e in uow.audit.recent(limit=20)
                   if e.action is Action.STAFF_SIGN_IN]
    # Newest first: the refusal, the fifth wrong password (which locked), four wrong ones.
    limit = h.ctx.policy.max_password_failures
    assert reasons == ["password_locked"] * 2 + ["wrong_password"] * (limit - 1)
    unlock_staff(h.ctx, "suzuki")
    operator.sign_in()


def test_a_customer_session_cannot_reach_the_console(harness: Harness) -> None:
    customer = harness.customer()
    b = Browser(harness)
    b.login(customer.contract_id)
    assert b.get("/home").status_code == 200
    for url in ("/console", f"/console/customers/{customer.contract_id}", "/console/audit",
                "/console/requests", "/console/audit.csv"):
        assert b.get(url).headers["location"] == "/console/login", url


def test_an_operator_suspends_at_once_but_cannot_revoke_alone(
    operator: Staff, supervisor: Staff,
) -> None:
    h = operator.h
    customer = h.customer()
    issued = h.enroll(customer)
    operator.sign_in()
    page = operator.act(customer.contract_id, issued.token.serial, "suspend")
    assert "トークンを利用停止にしました。" in text_of(page)
    assert state(h, issued.token.serial) is TokenState.SUSPENDED

    page = operator.act(customer.contract_id, issued.token.serial, "revoke")
    assert "別の責任者の承認を待っています。" in text_of(page)
    assert state(h, issued.token.serial) is TokenState.SUSPENDED  # not yet

    supervisor.sign_in()
    queue = supervisor.browser.get("/console/requests")
    assert "承認して実行" in queue.text
    request_id = queue.text.split("/console/requests/")[1].split("/")[0]
    done = supervisor.browser.post(f"/console/requests/{request_id}/approve", {})
    assert "申請を承認し、実行しました。" in text_of(supervisor.browser.follow(done))
    assert state(h, issued.token.serial) is TokenState.REVOKED

    with h.ctx.uow() as uow:
        events = uow.audit.recent(limit=100, contract_id=customer.contract_id)
    actions = {(e.action, e.actor) for e in events}
    assert (Action.TOKEN_SUSPENDED, "staff:suzuki") in actions
    assert (Action.REQUEST_CREATED, "staff:suzuki") in actions
    assert (Action.REQUEST_APPROVED, "staff:sato") in actions
    assert (Action.TOKEN_REVOKED, "staff:sato") in actions


def test_nobody_approves_their_own_request(supervisor: Staff) -> None:
    h = supervisor.h
    customer = h.customer()
    issued = h.enroll(customer)
    supervisor.sign_in()
    supervisor.act(customer.contract_id, issued.token.serial, "revoke", reason="アプリ削除")
    queue = supervisor.browser.get("/console/requests")
    assert "ご自身の申請は承認できません" in text_of(queue)
    request_id = queue.text.split("<td>")[1].split("</td>")[0]
    refused = supervisor.browser.post(f"/console/requests/{request_id}/approve", {})
    assert "この操作を行う権限がありません。" in text_of(supervisor.browser.follow(refused))
    assert state(h, issued.token.serial) is TokenState.ACTIVE


def test_an_operator_can_neither_approve_nor_resync(operator: Staff, supervisor: Staff) -> None:
    h = operator.h
    customer = h.customer()
    issued = h.enroll(customer)
    supervisor.sign_in()
    supervisor.act(customer.contract_id, issued.token.serial, "revoke", reason="本人申出")
    operator.sign_in()
    queue = operator.browser.get("/console/requests")
    assert "承認して実行" not in queue.text
    request_id = queue.text.split("<td>")[1].split("</td>")[0]
    refused = operator.browser.post(f"/console/requests/{request_id}/approve", {})
    assert "この操作を行う権限がありません。" in text_of(operator.browser.follow(refused))
    page = operator.act(customer.contract_id, issued.token.serial, "resync", reason="本人申出",
                        first=h.code(issued, steps=5).reveal(),
                        second=h.code(issued, steps=6).reveal())
    assert "この操作を行う権限がありません。" in text_of(page)
    assert state(h, issued.token.serial) is TokenState.ACTIVE


def test_a_password_unlock_needs_a_second_person(operator: Staff, supervisor: Staff) -> None:
    h = operator.h
    customer = h.customer()
    for _ in range(5):
        Browser(h).login(customer.contract_id, password="wrong-password")
    operator.sign_in()
    view = operator.browser.get(f"/console/customers/{customer.contract_id}")
    assert "ロック中" in text_of(view)
    requested = operator.browser.post(f"/console/customers/{customer.contract_id}/unlock-password",
                                      {"kind": "login", "reason": "本人申出", "reason_text": ""})
    assert "別の責任者の承認を待っています" in text_of(operator.browser.follow(requested))
    again = operator.browser.post(f"/console/customers/{customer.contract_id}/unlock-password",
                                  {"kind": "login", "reason": "本人申出", "reason_text": ""})
    shown = text_of(operator.browser.follow(again))
    assert "同じ申請がすでに承認待ちです。" in shown  # in Japanese, not the service's English
    assert "already waiting" not in shown
    assert Browser(h).login(customer.contract_id).headers.get("location") != "/home"
    supervisor.sign_in()
    queue = supervisor.browser.get("/console/requests")
    request_id = queue.text.split("/console/requests/")[1].split("/")[0]
    supervisor.browser.post(f"/console/requests/{request_id}/approve", {})
    assert Browser(h).login(customer.contract_id).headers["location"] == "/home"


def test_every_action_needs_a_reason(operator: Staff) -> None:
    h = operator.h
    customer = h.customer()
    issued = h.enroll(customer)
    operator.sign_in()
    page = operator.act(customer.contract_id, issued.token.serial, "suspend", reason="")
    assert "理由を選択してください。" in text_of(page)
    page = operator.act(customer.contract_id, issued.token.serial, "suspend", reason="その他")
    assert "「その他」の内容を入力してください。" in text_of(page)
    assert state(h, issued.token.serial) is TokenState.ACTIVE


def test_console_forms_need_the_csrf_token(operator: Staff) -> None:
    h = operator.h
    customer = h.customer()
    issued = h.enroll(customer)
    operator.sign_in()
    refused = operator.browser.post(
        f"/console/customers/{customer.contract_id}/tokens/{issued.token.serial}/suspend",
        {"reason": "紛失届"}, csrf="forged")
    assert refused.status_code == 403
    assert state(h, issued.token.serial) is TokenState.ACTIVE


def test_the_audit_page_filters_exports_and_checks_the_chain(
    operator: Staff, harness: Harness,
) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    operator.sign_in()
    operator.act(customer.contract_id, issued.token.serial, "suspend")
    page = operator.browser.get(f"/console/audit?contract_id={customer.contract_id}"
                                "&staff=suzuki")
    assert "token:suspended" in page.text and "token:bound" not in page.text
    export = operator.browser.get(f"/console/audit.csv?contract_id={customer.contract_id}")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert len(rows) > 3 and any("token:suspended" in row for row in rows)
    checked = operator.browser.get("/console/audit?verify=1")
    assert "改ざんは検出されませんでした。" in text_of(checked)
    assert audit.verify(h.kinko.audit_trail).ok


def test_the_console_session_has_its_own_idle_timeout(operator: Staff) -> None:
    h = operator.h
    operator.sign_in()
    assert operator.browser.get("/console").status_code == 200
    h.clock.advance(16 * 60)
    response = operator.browser.get("/console")
    assert response.headers["location"] == "/console/login"
    assert "一定時間操作がなかったため、サインアウトしました。" in text_of(
        operator.browser.follow(response))


def test_searching_by_serial_finds_the_customer(operator: Staff) -> None:
    h = operator.h
    customer = h.customer()
    issued = h.enroll(customer)
    operator.sign_in()
    serial = issued.token.serial
    found = operator.browser.get(f"/console?q={serial[:4]}-{serial[4:8]}-{serial[8:]}")
    assert found.headers["location"] == f"/console/customers/{customer.contract_id}"
    missing = operator.browser.get("/console?q=9999999999")
    assert missing.status_code == 404
    assert LOGIN_PASSWORD not in missing.text


# --- a customer's page reaches that customer's tokens only ---------------------------
# Staff members' own sign-in tokens are managed by `kinko staff unlock` alone; another
# customer's token, or one nobody registered, is not this customer's to act on either.

REFUSED = "このお客さまのトークンではないため、操作できません。"

#: The state a target token is put in first, so that the action would otherwise be allowed.
READY = {"suspend": TokenState.ACTIVE, "resume": TokenState.SUSPENDED,
         "unlock": TokenState.LOCKED, "revoke": TokenState.ACTIVE,
         "resync": TokenState.ACTIVE}
#: The audit action a refusal is recorded under.
AUDITED = {"suspend": Action.TOKEN_SUSPENDED, "resume": Action.TOKEN_RESUMED,
           "unlock": Action.TOKEN_UNLOCKED, "revoke": Action.REQUEST_CREATED,
           "resync": Action.TOKEN_RESYNCED}


def token_row(h: Harness, serial: str) -> Token:
    with h.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
    assert token is not None
    return token


def put(h: Harness, serial: str, to: TokenState) -> None:
    """Move a token straight to ``to`` in the store: the state a test starts from."""
    token = token_row(h, serial)
    if token.state is to:
        return
    with h.ctx.uow() as uow:
        assert uow.tokens.change_state(token.id, from_states={token.state}, to_state=to,
                                       now=h.clock())
        uow.commit()


def events_of(h: Harness, serial: str) -> list[AuditEvent]:
    with h.ctx.uow() as uow:
        return list(reversed(uow.audit.recent(limit=500, serial=serial)))


def pending_requests(h: Harness) -> int:
    with h.ctx.uow() as uow:
        return len(uow.requests.pending())


def try_action(actor: Staff, contract_id: str, target: IssuedToken, action: str) -> str:
    """``actor`` takes ``action`` on ``target`` from the page of ``contract_id``; the page
    shown after it. The target is made ready first, and is checked to be left untouched."""
    h = actor.h
    serial = target.token.serial
    put(h, serial, READY[action])
    before, trail, requests = token_row(h, serial), events_of(h, serial), pending_requests(h)
    extra = ({"first": h.code(target, steps=20).reveal(),
              "second": h.code(target, steps=21).reveal()} if action == "resync" else {})
    page = text_of(actor.act(contract_id, serial, action, **extra))
    assert token_row(h, serial) == before  # state, failures, drift, steps: all as they were
    assert pending_requests(h) == requests
    added = [(e.action, e.outcome, e.actor, e.contract_id, e.reason)
             for e in events_of(h, serial)[len(trail):]]
    assert added == [(AUDITED[action], Outcome.FAILURE, f"staff:{actor.name}", contract_id,
                      "not_customers_token")]
    return page


@pytest.mark.parametrize("action", ["suspend", "resume", "unlock", "revoke"])
def test_an_operator_cannot_act_on_a_staff_members_token_from_a_customer_page(
    operator: Staff, supervisor: Staff, action: str,
) -> None:
    h = operator.h
    customer = h.customer()
    h.enroll(customer)
    operator.sign_in()
    page = try_action(operator, customer.contract_id, supervisor.token, action)
    assert REFUSED in page
    if READY[action] is TokenState.ACTIVE:
        supervisor.sign_in()  # the supervisor's approvals are not blocked


def test_a_supervisor_cannot_resync_a_staff_members_token_from_a_customer_page(
    operator: Staff, supervisor: Staff,
) -> None:
    h = supervisor.h
    customer = h.customer()
    h.enroll(customer)
    supervisor.sign_in()
    assert REFUSED in try_action(supervisor, customer.contract_id, operator.token, "resync")


@pytest.mark.parametrize("action", ["suspend", "resume", "unlock", "revoke", "resync"])
def test_a_customers_page_cannot_reach_another_customers_token(
    supervisor: Staff, action: str,
) -> None:
    h = supervisor.h
    caller = h.customer("1000000001")
    h.enroll(caller)
    other = h.customer("1000000002", name="金庫 花子")
    theirs = h.enroll(other)
    supervisor.sign_in()
    assert REFUSED in try_action(supervisor, caller.contract_id, theirs, action)
    with h.ctx.uow() as uow:
        told = [n.notice.kind for n in uow.outbox.listing(contract_id=other.contract_id)]
    assert told == [NoticeKind.REGISTERED]  # of 利用開始, and of nothing since


@pytest.mark.parametrize("action", ["revoke", "suspend"])
def test_a_customers_page_cannot_reach_a_token_nobody_registered(
    operator: Staff, action: str,
) -> None:
    h = operator.h
    customer = h.customer()
    h.enroll(customer)
    spare = h.issue()
    operator.sign_in()
    before = token_row(h, spare.token.serial)
    page = operator.act(customer.contract_id, spare.token.serial, action)
    assert REFUSED in text_of(page)
    assert token_row(h, spare.token.serial) == before
    assert pending_requests(h) == 0


def test_the_customers_own_token_is_still_acted_on(operator: Staff) -> None:
    h = operator.h
    customer = h.customer()
    issued = h.enroll(customer)
    operator.sign_in()
    put(h, issued.token.serial, TokenState.LOCKED)
    page = operator.act(customer.contract_id, issued.token.serial, "unlock", "誤入力ロック")
    assert "トークンのロックを解除しました。" in text_of(page)
    assert state(h, issued.token.serial) is TokenState.ACTIVE
