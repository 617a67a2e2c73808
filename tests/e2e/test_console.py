"""The bank staff console in the browser: the calls the customer guide sends to the bank
(a lost phone, an app uninstalled before 利用中止, a token locked by wrong codes) handled by
an operator and a supervisor, each in their own browser and signed in with their own TOTP,
while the customer, in a third browser, sees what each step changes.

Staff work at desks, so these run at the PC width only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from kinko.domain.events import Action, AuditEvent, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import StaffRole
from kinko.domain.serials import format_serial
from kinko.services import approvals, audit
from kinko.services.audit import AuditFilter
from kinko.web.i18n import HELP_DESK
from tests.e2e.bank import Bank, Customer, Staff
from tests.e2e.conftest import _OUTCOMES, VIEWPORTS, LiveServer, Viewport
from tests.e2e.ib import (
    SCREENSHOTS,
    enter_credentials,
    expect_step,
    field,
    fill,
    follow,
    log_in,
    press,
)
from tests.e2e.test_stop_and_exchange import transfer_to_confirmation

pytestmark = pytest.mark.parametrize("viewport", [VIEWPORTS[0]], indirect=True, ids=["pc"])

SIGN_IN_FAILED = "職員ID、パスワードまたはワンタイムパスワードが正しくありません。"
SUSPENDED = f"ワンタイムパスワードが利用停止中です。{HELP_DESK}までお問い合わせください。"
LOCKED = f"ワンタイムパスワードがロックされています。{HELP_DESK}までお問い合わせください。"
WRONG_CODE = "ワンタイムパスワードが正しくありません。あと{}回間違えると利用できなくなります。"
WAITING_FOR_APPROVAL = "失効を申請しました。別の責任者の承認を待っています。"
APPROVED = "申請を承認し、実行しました。"


# --- several people, each in their own browser ----------------------------------------

Person = Callable[[str], Page]


@pytest.fixture
def person(browser: Browser, live_server: LiveServer, viewport: Viewport,
           request: pytest.FixtureRequest) -> Iterator[Person]:
    """``person("operator")`` opens a browser context of its own (no shared cookies) for
    one person at a desk or at home; on a failure each one's last screen is kept as
    ``FAILED-<test>-<who>.png`` (and ``.html``)."""
    opened: dict[str, Page] = {}

    def open_browser(who: str) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": viewport.width, "height": viewport.height},
            is_mobile=viewport.mobile, has_touch=viewport.mobile, locale="ja-JP",
            timezone_id="Asia/Tokyo",
        )
        context.set_default_timeout(10_000)
        opened[who] = context.new_page()
        return opened[who]

    yield open_browser
    call = request.node.stash.get(_OUTCOMES, {}).get("call")
    for who, page in opened.items():
        stem = SCREENSHOTS / viewport.name / f"FAILED-{request.node.originalname}-{who}"
        if call is not None and call.failed:
            stem.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=stem.with_suffix(".png"), full_page=True)
            stem.with_suffix(".html").write_text(f"<!-- {page.url} -->\n{page.content()}")
        elif call is not None:
            stem.with_suffix(".png").unlink(missing_ok=True)
            stem.with_suffix(".html").unlink(missing_ok=True)
        page.context.close()


class Story:
    """One numbered series of full-page screenshots across several people's browsers, like
    ``Screenshots`` for one: ``<viewport>/console-<story>-<nn>-<who>-<step>.png``."""

    def __init__(self, viewport: Viewport, story: str) -> None:
        self.folder = SCREENSHOTS / viewport.name
        self.flow = f"console-{story}"
        self.count = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(f"{self.flow}-[0-9][0-9]-*.png"):
            stale.unlink()

    def of(self, page: Page, who: str, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.flow}-{self.count:02d}-{who}-{step}.png"
        page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def story(viewport: Viewport) -> Callable[[str], Story]:
    return lambda name: Story(viewport, name)


# --- what staff do on the console -----------------------------------------------------

def sign_in(page: Page, bank: Bank, staff: Staff) -> None:
    """Staff ID, password and the staff member's own TOTP on /console/login."""
    page.goto("/console/login")
    expect(page.locator("h1")).to_have_text("職員サインイン")
    fill(page, staff_id=staff.name, password=staff.password, otp=bank.staff_code(staff))
    press(page, "サインイン")
    assert page.url.endswith("/console")
    expect(page.locator("header .tools")).to_contain_text(staff.member.display_name)


def find(page: Page, query: str) -> None:
    """お客さま検索 by contract ID or serial; lands on the customer's page."""
    page.goto("/console")
    page.locator("#q").fill(query)
    press(page, "検索")
    expect(page.locator("h1")).to_contain_text("契約者ID")


def token_form(page: Page, action: str) -> Locator:
    return page.locator(f"form[action$='/{action}']")


def act(page: Page, action: str, reason: str, text: str = "") -> None:
    """Choose the reason in one action's form on the customer's page and press its button."""
    form = token_form(page, action)
    form.locator("select[name=reason]").select_option(reason)
    if text:
        form.locator("input[name=reason_text]").fill(text)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def notice(page: Page) -> Locator:
    return page.locator("p.notice")


def otp_status(page: Page) -> Locator:
    """The OTP line of the customer summary on the console."""
    return page.locator(".summary > div").filter(
        has=page.locator("dt", has_text=re.compile("^ワンタイムパスワード$"))).locator("dd")


def request_row(page: Page, contract_id: str) -> Locator:
    """The row of /console/requests for this customer's request."""
    page.goto("/console/requests")
    expect(page.locator("h1")).to_have_text("承認待ち")
    return page.locator("tbody tr").filter(
        has=page.get_by_role("link", name=contract_id, exact=True))


def decide(page: Page, row: Locator, button: str) -> None:
    with page.expect_navigation():
        row.get_by_role("button", name=button).click()


def pending_request_id(row: Locator) -> int:
    return int(row.locator("td").first.inner_text())


def staff_events(live_server: LiveServer, contract_id: str) -> list[AuditEvent]:
    """The customer's audit events done by staff, oldest first."""
    with live_server.kinko.ctx.uow() as uow:
        events = uow.audit.recent(limit=200, contract_id=contract_id)
    return [e for e in reversed(events) if e.actor.startswith("staff:")]


def trail(events: list[AuditEvent]) -> list[tuple[str, str, str | None]]:
    return [(e.action.value, e.actor, e.reason) for e in events]


# --- the calls --------------------------------------------------------------------------

def test_a_lost_phone_is_suspended_then_revoked_by_two_people_and_a_new_phone_enrolled(
    person: Person, bank: Bank, live_server: LiveServer, story: Callable[[str], Story],
) -> None:
    customer = bank.customer(otp=True, login_otp=True)
    old = customer.token
    assert old is not None
    operator, supervisor = bank.staff(StaffRole.OPERATOR), bank.staff(StaffRole.SUPERVISOR)
    at_operator, at_supervisor = person("operator"), person("supervisor")
    at_home = person("customer")
    shot = story("lost-phone")

    # The customer calls: the phone is lost. The operator signs in and finds the contract.
    sign_in(at_operator, bank, operator)
    shot.of(at_operator, "operator", "signed-in")
    find(at_operator, customer.contract_id)
    assert at_operator.url.endswith(f"/console/customers/{customer.contract_id}")
    expect(at_operator.locator("h1")).to_contain_text(customer.name)
    expect(otp_status(at_operator)).to_contain_text(format_serial(old.token.serial))
    shot.of(at_operator, "operator", "customer-found-by-contract-id")

    # 利用停止 at once, with the reason 紛失届.
    act(at_operator, "suspend", "紛失届")
    expect(notice(at_operator)).to_have_text("トークンを利用停止にしました。")
    shot.of(at_operator, "operator", "suspended")
    assert bank.token(old).state is TokenState.SUSPENDED

    # Whoever holds the phone, its codes no longer open the customer's IB.
    log_in(at_home, customer)
    assert at_home.url.endswith("/login/otp")
    fill(at_home, otp=bank.code(old))
    press(at_home, "ログイン")
    expect(at_home.locator("p.error")).to_have_text(SUSPENDED)
    assert at_home.url.endswith("/login/otp")
    shot.of(at_home, "customer", "otp-refused-while-suspended")

    # The phone stays lost: the operator, finding the contract by the token's serial this
    # time, asks for the token to be revoked. An operator cannot revoke alone.
    find(at_operator, format_serial(old.token.serial))
    assert at_operator.url.endswith(f"/console/customers/{customer.contract_id}")
    expect(token_form(at_operator, "suspend")).to_have_count(0)
    expect(token_form(at_operator, "resume")).to_have_count(1)
    shot.of(at_operator, "operator", "customer-found-by-serial")
    act(at_operator, "revoke", "紛失届")
    expect(notice(at_operator)).to_have_text(WAITING_FOR_APPROVAL)
    shot.of(at_operator, "operator", "revoke-requested")
    assert bank.token(old).state is TokenState.SUSPENDED

    # The supervisor, at another desk, sees the request and approves it.
    sign_in(at_supervisor, bank, supervisor)
    expect(at_supervisor.locator("main")).to_contain_text("承認待ちの申請")
    row = request_row(at_supervisor, customer.contract_id)
    expect(row).to_contain_text("失効")
    expect(row).to_contain_text("紛失届")
    expect(row).to_contain_text(operator.name)
    request_id = pending_request_id(row)
    shot.of(at_supervisor, "supervisor", "request-waiting")
    decide(at_supervisor, row, "承認して実行")
    expect(notice(at_supervisor)).to_have_text(APPROVED)
    expect(request_row(at_supervisor, customer.contract_id)).to_have_count(0)
    shot.of(at_supervisor, "supervisor", "approved")
    assert bank.token(old).state is TokenState.REVOKED

    # The operator's view now says the customer is back on the confirmation password.
    at_operator.reload()
    expect(otp_status(at_operator)).to_have_text("未利用 (確認用パスワード)")
    expect(at_operator.locator("main")).to_contain_text("(紛失届 (申請番号")
    shot.of(at_operator, "operator", "revoked")

    # The customer logs in with the password alone (the login OTP went with the token)...
    log_in(at_home, customer)
    assert at_home.url.endswith("/home")
    expect(at_home.locator(".status")).to_have_text("ワンタイムパスワード: 未利用")
    shot.of(at_home, "customer", "home-without-otp")

    # ... and starts OTP again with the app on the new phone (利用開始).
    new = bank.issue_token()
    with at_home.expect_navigation():
        at_home.get_by_role("button", name="ログアウト").click()
    follow(at_home, "利用開始")
    enter_credentials(at_home, customer)
    press(at_home, "次へ")
    expect_step(at_home, "②", "シリアル番号・ワンタイムパスワードの入力")
    fill(at_home, serial=format_serial(new.token.serial), otp=bank.code(new))
    shot.of(at_home, "customer", "enroll-new-phone")
    press(at_home, "次へ")
    at_home.locator("input[name=login_otp][value=yes]").check()
    fill(at_home, confirmation_password=customer.confirmation_password)
    press(at_home, "登録")
    expect_step(at_home, "④", "完了")
    shot.of(at_home, "customer", "enrolled")
    assert bank.token(new).state is TokenState.ACTIVE
    log_in(at_home, customer)
    fill(at_home, otp=bank.code(new))
    press(at_home, "ログイン")
    expect(at_home.locator(".status")).to_have_text("ワンタイムパスワード: 利用中")

    # Every staff step is in the audit trail under the staff ID, with its reason.
    by = f"(申請番号 {request_id} / 申請者 {operator.name})"
    assert trail(staff_events(live_server, customer.contract_id)) == [
        (Action.TOKEN_SUSPENDED, operator.actor, "紛失届"),
        (Action.REQUEST_CREATED, operator.actor, f"revoke#{request_id}:紛失届"),
        (Action.REQUEST_APPROVED, supervisor.actor, f"revoke#{request_id}"),
        (Action.TOKEN_REVOKED, supervisor.actor, f"紛失届 {by}"),
    ]
    with live_server.kinko.ctx.uow() as uow:
        refused = [e for e in uow.audit.recent(limit=200, serial=old.token.serial)
                   if e.action is Action.TOKEN_CODE_CHECKED and e.outcome is Outcome.FAILURE]
    assert [e.reason for e in refused] == ["token_suspended"]
    for member in (operator, supervisor):
        signed_in = audit.search(live_server.kinko.audit_trail, AuditFilter(
            actor=member.actor, action=Action.STAFF_SIGN_IN)).events
        assert [e.outcome for e in signed_in] == [Outcome.SUCCESS]


def test_an_uninstalled_app_is_revoked_on_request_and_the_customer_uses_the_password(
    person: Person, bank: Bank, live_server: LiveServer, story: Callable[[str], Story],
) -> None:
    customer = bank.customer(otp=True)
    payee = bank.customer()
    token = customer.token
    assert token is not None
    operator, supervisor = bank.staff(StaffRole.OPERATOR), bank.staff(StaffRole.SUPERVISOR)
    at_operator, at_supervisor = person("operator"), person("supervisor")
    at_home = person("customer")
    shot = story("uninstalled-app")

    # The app was deleted before 利用中止: no suspension needed, the revoke is asked at once.
    sign_in(at_operator, bank, operator)
    find(at_operator, customer.contract_id)
    act(at_operator, "revoke", "アプリ削除")
    expect(notice(at_operator)).to_have_text(WAITING_FOR_APPROVAL)
    shot.of(at_operator, "operator", "revoke-requested")
    assert bank.token(token).state is TokenState.ACTIVE

    sign_in(at_supervisor, bank, supervisor)
    row = request_row(at_supervisor, customer.contract_id)
    expect(row).to_contain_text("アプリ削除")
    request_id = pending_request_id(row)
    shot.of(at_supervisor, "supervisor", "request-waiting")
    decide(at_supervisor, row, "承認して実行")
    expect(notice(at_supervisor)).to_have_text(APPROVED)
    shot.of(at_supervisor, "supervisor", "approved")
    assert bank.token(token).state is TokenState.REVOKED

    # The customer's IB is back on the confirmation password.
    log_in(at_home, customer)
    expect(at_home.locator(".status")).to_have_text("ワンタイムパスワード: 未利用")
    shot.of(at_home, "customer", "home-without-otp")
    transfer_to_confirmation(at_home, payee.account.account_number)
    expect(field(at_home, "otp")).to_have_count(0)
    fill(at_home, confirmation_password=customer.confirmation_password)
    shot.of(at_home, "customer", "transfer-with-confirmation-password")
    press(at_home, "実行")
    expect(at_home.locator(".notice")).to_have_text("お振込を受け付けました。")

    assert trail(staff_events(live_server, customer.contract_id)) == [
        (Action.REQUEST_CREATED, operator.actor, f"revoke#{request_id}:アプリ削除"),
        (Action.REQUEST_APPROVED, supervisor.actor, f"revoke#{request_id}"),
        (Action.TOKEN_REVOKED, supervisor.actor,
         f"アプリ削除 (申請番号 {request_id} / 申請者 {operator.name})"),
    ]


def test_a_token_locked_by_wrong_codes_is_unlocked_and_the_next_code_works(
    person: Person, bank: Bank, live_server: LiveServer, story: Callable[[str], Story],
) -> None:
    customer: Customer = bank.customer(otp=True)
    payee = bank.customer()
    token = customer.token
    assert token is not None
    operator = bank.staff(StaffRole.OPERATOR)
    at_home, at_operator = person("customer"), person("operator")
    shot = story("unlock")

    # Five wrong codes at a transfer's confirmation lock the token.
    log_in(at_home, customer)
    transfer_to_confirmation(at_home, payee.account.account_number)
    for remaining in (4, 3, 2, 1):
        fill(at_home, otp=bank.wrong_code(token))
        press(at_home, "実行")
        expect(at_home.locator("p.error")).to_have_text(WRONG_CODE.format(remaining))
    fill(at_home, otp=bank.wrong_code(token))
    press(at_home, "実行")
    expect(at_home.locator("p.error")).to_have_text(LOCKED)
    shot.of(at_home, "customer", "locked")
    assert bank.token(token).state is TokenState.LOCKED

    # The customer calls; the operator sees the lock and the count, and unlocks.
    sign_in(at_operator, bank, operator)
    find(at_operator, customer.contract_id)
    expect(otp_status(at_operator)).to_contain_text("ロック中")
    expect(token_form(at_operator, "unlock")).to_have_count(1)
    shot.of(at_operator, "operator", "locked-token")
    act(at_operator, "unlock", "誤入力ロック")
    expect(notice(at_operator)).to_have_text("トークンのロックを解除しました。")
    shot.of(at_operator, "operator", "unlocked")
    unlocked = bank.token(token)
    assert unlocked.state is TokenState.ACTIVE and unlocked.failures == 0

    # A locked token's confirmation screen offers no code field; opened again after the
    # unlock, it does, and the customer's next code goes through.
    expect(field(at_home, "otp")).to_have_count(0)
    at_home.reload()
    fill(at_home, otp=bank.code(token))
    press(at_home, "実行")
    expect(at_home.locator(".notice")).to_have_text("お振込を受け付けました。")
    shot.of(at_home, "customer", "transfer-after-unlock")

    assert trail(staff_events(live_server, customer.contract_id)) == [
        (Action.TOKEN_UNLOCKED, operator.actor, "誤入力ロック"),
    ]


def test_nobody_approves_their_own_request_and_operators_approve_nothing(
    person: Person, bank: Bank, live_server: LiveServer, story: Callable[[str], Story],
) -> None:
    customer = bank.customer(otp=True)
    token = customer.token
    assert token is not None
    supervisor, operator = bank.staff(StaffRole.SUPERVISOR), bank.staff(StaffRole.OPERATOR)
    at_supervisor, at_operator = person("supervisor"), person("operator")
    shot = story("four-eyes")

    # A supervisor asks for a revoke ("その他" needs its text) and finds no buttons on it.
    sign_in(at_supervisor, bank, supervisor)
    find(at_supervisor, customer.contract_id)
    act(at_supervisor, "revoke", "その他", "本人から解約の申出 (窓口)")
    expect(notice(at_supervisor)).to_have_text(WAITING_FOR_APPROVAL)
    own = request_row(at_supervisor, customer.contract_id)
    expect(own).to_contain_text("ご自身の申請は承認できません")
    expect(own).to_contain_text("その他: 本人から解約の申出 (窓口)")
    expect(own.get_by_role("button")).to_have_count(0)
    shot.of(at_supervisor, "supervisor", "own-request")

    # An operator sees the request but no approve or reject button anywhere.
    sign_in(at_operator, bank, operator)
    row = request_row(at_operator, customer.contract_id)
    expect(row).to_contain_text("責任者が承認します")
    expect(at_operator.get_by_role("button", name="承認して実行")).to_have_count(0)
    expect(at_operator.get_by_role("button", name="却下")).to_have_count(0)
    shot.of(at_operator, "operator", "no-approve-buttons")

    # Posting the approval anyway (a hand-made form) is refused by the server as well.
    request_id = pending_request_id(row)
    for page in (at_supervisor, at_operator):
        csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
        answer = page.request.post(f"/console/requests/{request_id}/approve",
                                   form={"csrf_token": csrf or ""})
        assert "この操作を行う権限がありません。" in answer.text()
    assert bank.token(token).state is TokenState.ACTIVE
    assert request_id in [r.id for r in approvals.pending(live_server.kinko.ctx)]

    assert trail(staff_events(live_server, customer.contract_id)) == [
        (Action.REQUEST_CREATED, supervisor.actor,
         f"revoke#{request_id}:その他: 本人から解約の申出 (窓口)"),
    ]


def test_staff_sign_in_with_a_wrong_totp_is_refused_on_the_sign_in_page(
    person: Person, bank: Bank, live_server: LiveServer, story: Callable[[str], Story],
) -> None:
    operator = bank.staff(StaffRole.OPERATOR)
    at_operator = person("operator")
    shot = story("sign-in")

    at_operator.goto("/console/login")
    fill(at_operator, staff_id=operator.name, password=operator.password,
         otp=bank.wrong_code(operator.token))
    shot.of(at_operator, "operator", "wrong-totp")
    press(at_operator, "サインイン")
    expect(at_operator.locator("p.error")).to_have_text(SIGN_IN_FAILED)
    assert at_operator.url.endswith("/console/login")
    expect(field(at_operator, "staff_id")).to_have_value(operator.name)
    expect(field(at_operator, "password")).to_have_value("")
    expect(field(at_operator, "otp")).to_have_value("")
    shot.of(at_operator, "operator", "refused")

    # Nothing behind the sign-in opened.
    at_operator.goto("/console/requests")
    assert at_operator.url.endswith("/console/login")

    # The right code signs in.
    sign_in(at_operator, bank, operator)
    shot.of(at_operator, "operator", "signed-in")
    attempts = audit.search(live_server.kinko.audit_trail, AuditFilter(
        actor=operator.actor, action=Action.STAFF_SIGN_IN)).events
    assert [(e.outcome, e.reason) for e in reversed(attempts)] == [
        (Outcome.FAILURE, "wrong_code"), (Outcome.SUCCESS, None)]
