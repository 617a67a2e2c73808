"""Every customer screen and every console screen passes axe-core with no serious or critical
violation, its tap targets are at least 44 x 44 px, and each step opens with the cursor in
its first field (or, after a mistake, in the first field to correct) with the hint and the
message read with it (aria-describedby).

The customer screens are checked at the PC and the smartphone width, the console (used at
desks) at the PC width. One browser context per test, one login per customer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from kinko.banking.rules import OUR_BANK_CODE
from kinko.domain.model import StaffRole
from kinko.domain.serials import format_serial
from tests.e2e.a11y import Audit, focused_id, open_page
from tests.e2e.bank import Bank, Customer
from tests.e2e.conftest import VIEWPORTS, LiveServer, Viewport, serving
from tests.e2e.ib import SCREENSHOTS, enter_credentials, field, fill, follow
from tests.e2e.test_payments import fill_bill_payment, fill_transfer

#: Where the cursor must be when a form opens: the first invalid field, or else the first
#: field (a radio group counts by its checked or first radio). "" when it is there.
_FOCUS_PROBLEM = """() => {
  const form = document.querySelector("main form[method=post]");
  if (!form) return "";
  const fields = [...form.querySelectorAll("input:not([type=hidden]), select, textarea")];
  if (!fields.length) return "";
  let want = fields.find(f => f.getAttribute("aria-invalid") === "true") || fields[0];
  if (want.type === "radio") {
    const group = fields.filter(f => f.name === want.name);
    want = group.find(f => f.checked) || group[0];
  }
  if (document.activeElement === want) return "";
  const name = el => el ? `${el.tagName.toLowerCase()}#${el.id}[name=${el.name || ""}]` : "none";
  return `the cursor is on ${name(document.activeElement)}, not on ${name(want)}`;
}"""


class Tour(Audit):
    """An Audit that also checks each form screen opens with the cursor in the right field."""

    def visit(self, page: Page, screen: str, *, form: bool = True) -> None:
        self.check(page, screen)
        if form:
            problem: str = page.evaluate(_FOCUS_PROBLEM)
            if problem:
                self.findings.setdefault(screen, []).append(problem)


@pytest.fixture
def tour(viewport: Viewport) -> Iterator[Tour]:
    found = Tour(viewport.name)
    yield found
    found.assert_clean()


@pytest.fixture
def at(browser: Browser, live_server: LiveServer, viewport: Viewport) -> Iterator[Page]:
    with open_page(browser, live_server, width=viewport.width, height=viewport.height,
                   mobile=viewport.mobile) as page:
        yield page


def submit(page: Page) -> None:
    """Press the screen's primary button, whatever it says, and wait for the next page."""
    with page.expect_navigation():
        page.locator("main button.primary").click()


def described_by(page: Page, name: str) -> list[str]:
    return (field(page, name).get_attribute("aria-describedby") or "").split()


# --- the customer screens --------------------------------------------------------------

def test_the_login_screens_focus_the_field_to_fill_and_describe_its_mistakes(
    at: Page, bank: Bank, tour: Tour,
) -> None:
    customer = bank.customer(otp=True, login_otp=True)
    assert customer.token is not None

    at.goto("/login")
    tour.visit(at, "login")
    assert focused_id(at) == "f-contract_id"
    # The hint under the contract ID is read with it.
    assert described_by(at, "contract_id") == ["f-contract_id-hint"]
    expect(at.locator("#f-contract_id-hint")).to_have_text("10桁の数字")

    # Nothing typed: the first field to correct has the cursor, its message tied to it.
    submit(at)
    tour.visit(at, "login-missing-fields")
    assert focused_id(at) == "f-contract_id"
    expect(field(at, "contract_id")).to_have_attribute("aria-invalid", "true")
    assert "f-contract_id-error" in described_by(at, "contract_id")
    expect(at.locator("#f-contract_id-error")).not_to_be_empty()

    # A contract ID typed, the password not: the cursor goes to the password.
    fill(at, contract_id=customer.contract_id)
    submit(at)
    tour.visit(at, "login-missing-password")
    assert focused_id(at) == "f-login_password"
    expect(field(at, "contract_id")).not_to_have_attribute("aria-invalid", "true")

    # The login-OTP step opens with the cursor in the OTP field.
    enter_credentials(at, customer)
    submit(at)
    assert at.url.endswith("/login/otp")
    tour.visit(at, "login-otp")
    assert focused_id(at) == "f-otp"
    submit(at)
    tour.visit(at, "login-otp-empty")
    assert focused_id(at) == "f-otp"
    assert described_by(at, "otp") == ["f-otp-error"]
    fill(at, otp=bank.code(customer.token))
    submit(at)
    assert at.url.endswith("/home")
    tour.visit(at, "home", form=False)


def test_every_signed_in_screen_passes_axe(
    at: Page, bank: Bank, tour: Tour,
) -> None:
    customer = bank.customer(otp=True)
    payee = bank.customer()
    assert customer.token is not None
    log_in(at, customer)
    tour.visit(at, "home", form=False)
    at.goto("/menu")
    tour.visit(at, "menu", form=False)

    # 振込: input (and its mistakes), confirmation with the OTP (and a malformed one), done.
    at.goto("/transfer")
    tour.visit(at, "transfer-input")
    submit(at)
    tour.visit(at, "transfer-input-errors")
    fill_transfer(at, bank_code=OUR_BANK_CODE, account_number=payee.account.account_number,
                  kana="ｼｹﾝ ﾀﾛｳ", amount="1000")
    submit(at)
    assert at.url.endswith("/transfer/confirm")
    tour.visit(at, "transfer-confirm")
    assert focused_id(at) == "f-otp"
    fill(at, otp="1")
    submit(at)
    tour.visit(at, "transfer-confirm-malformed-otp")
    fill(at, otp=bank.code(customer.token))
    submit(at)
    tour.visit(at, "transfer-done", form=False)

    # 収納サービス: input, confirmation (with the OTP field; left unsent), and the settings.
    at.goto("/billpay")
    tour.visit(at, "billpay-input")
    fill_bill_payment(at, amount="1000")
    submit(at)
    assert at.url.endswith("/billpay/confirm")
    tour.visit(at, "billpay-confirm")

    at.goto("/settings/otp")
    tour.visit(at, "settings")
    at.locator("input[name=login_otp][value=yes]").check()
    submit(at)
    tour.visit(at, "settings-malformed-otp")
    assert focused_id(at) == "f-otp"

    at.goto("/otp/history")
    tour.visit(at, "otp-history", form=False)
    at.goto("/no-such-page")
    tour.visit(at, "not-found", form=False)

    with at.expect_navigation():
        at.get_by_role("button", name="ログアウト").click()
    tour.visit(at, "logged-out")


def test_a_bill_payment_with_the_confirmation_password_passes_axe(
    at: Page, bank: Bank, tour: Tour,
) -> None:
    customer = bank.customer()
    log_in(at, customer)
    fill_bill_payment(at, amount="1000")
    submit(at)
    tour.visit(at, "billpay-confirm-password")
    assert focused_id(at) == "f-confirmation_password"
    fill(at, confirmation_password=customer.confirmation_password)
    submit(at)
    tour.visit(at, "billpay-done", form=False)
    at.goto("/settings/otp")  # without OTP: a message instead of the form
    tour.visit(at, "settings-without-otp", form=False)


def walk(page: Page, tour: Tour, flow: str, values: Callable[[str], dict[str, str]]) -> None:
    """Go through a 利用開始 / 利用中止 / 交換 flow from the login screen's link to its done
    screen, each step first sent empty (its mistakes shown) and then filled with
    ``values(url)``, every screen checked on the way."""
    page.goto("/login")
    follow(page, {"enroll": "利用開始", "stop": "利用中止", "exchange": "交換"}[flow])
    for number in range(1, 10):
        if page.url.endswith("/done"):
            tour.visit(page, f"{flow}-done", form=False)
            return
        tour.visit(page, f"{flow}-{number}")
        if number == 1 or page.locator("input.otp").count():
            submit(page)  # empty: each step's messages, before anything is checked
            tour.visit(page, f"{flow}-{number}-errors")
        for name, value in values(page.url).items():
            if field(page, name).count():
                field(page, name).fill(value)
        yes = page.locator("input[name=login_otp][value=yes]")
        if yes.count():
            yes.check()
        submit(page)
    pytest.fail(f"{flow} did not reach its done screen: {page.url}")


def test_each_step_of_enroll_stop_and_exchange_passes_axe(
    at: Page, bank: Bank, tour: Tour,
) -> None:
    newcomer = bank.customer()
    token = bank.issue_token()

    def enrolling(url: str) -> dict[str, str]:
        return {"contract_id": newcomer.contract_id, "login_password": newcomer.login_password,
                "serial": format_serial(token.token.serial),
                "otp": bank.code(token) if url.endswith("/token") else "",
                "confirmation_password": newcomer.confirmation_password}

    walk(at, tour, "enroll", enrolling)

    leaving = bank.customer(otp=True)
    assert leaving.token is not None
    leaving_token = leaving.token

    def stopping(url: str) -> dict[str, str]:
        return {"contract_id": leaving.contract_id, "login_password": leaving.login_password,
                "otp": bank.code(leaving_token) if at.locator("input.otp").count() else "",
                "confirmation_password": leaving.confirmation_password}

    walk(at, tour, "stop", stopping)

    moving = bank.customer(otp=True)
    assert moving.token is not None
    old, new = moving.token, bank.issue_token()

    def exchanging(url: str) -> dict[str, str]:
        token = new if url.endswith("/new") else old
        return {"contract_id": moving.contract_id, "login_password": moving.login_password,
                "serial": format_serial(new.token.serial),
                "otp": bank.code(token) if at.locator("input.otp").count() else ""}

    walk(at, tour, "exchange", exchanging)


@pytest.fixture(scope="module")
def apps_server(viewport: Viewport, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[LiveServer]:
    """A kinko whose bank allows another authenticator app (KINKO_THIRD_PARTY_APPS): the
    one policy that adds customer screens (the otpauth QR in 利用開始 and 交換)."""
    with serving(tmp_path_factory, f"apps-{viewport.name}",
                 {"KINKO_THIRD_PARTY_APPS": "true"}) as server:
        yield server


def test_the_other_authenticator_app_screens_pass_axe(
    browser: Browser, apps_server: LiveServer, viewport: Viewport, tour: Tour,
) -> None:
    bank = Bank(apps_server.kinko)
    newcomer = bank.customer()
    moving = bank.customer(otp=True)
    assert moving.token is not None
    with open_page(browser, apps_server, width=viewport.width, height=viewport.height,
                   mobile=viewport.mobile) as page:
        page.goto("/otp/enroll")
        enter_credentials(page, newcomer)
        submit(page)
        assert page.url.endswith("/otp/enroll/token")
        page.goto("/otp/enroll/app")
        assert page.url.endswith("/otp/enroll/app")  # the policy's screen, not a redirect
        expect(page.locator("main img.qr")).to_be_visible()
        tour.visit(page, "enroll-app")
        submit(page)  # no code: its message, with the QR still shown
        tour.visit(page, "enroll-app-errors")

        page.goto("/otp/exchange")
        enter_credentials(page, moving)
        submit(page)
        field(page, "otp").fill(bank.code(moving.token))
        submit(page)
        assert page.url.endswith("/otp/exchange/new")
        page.goto("/otp/exchange/app")
        assert page.url.endswith("/otp/exchange/app")
        expect(page.locator("main img.qr")).to_be_visible()
        tour.visit(page, "exchange-app")


def log_in(page: Page, customer: Customer) -> None:
    page.goto("/login")
    enter_credentials(page, customer)
    submit(page)
    assert page.url.endswith("/home")


def test_the_skip_link_is_first_and_leads_to_the_main_content(at: Page, bank: Bank) -> None:
    log_in(at, bank.customer())
    at.keyboard.press("Tab")
    skip = at.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("本文へスキップ")
    expect(skip).to_be_in_viewport()
    box = skip.bounding_box()
    assert box is not None and box["height"] >= 44
    at.keyboard.press("Enter")
    expect(at.locator("main")).to_be_focused()
    at.keyboard.press("Tab")  # the next stop is inside the page's content, past the menu
    assert at.evaluate("() => document.querySelector('main').contains(document.activeElement)")


# --- the staff console -----------------------------------------------------------------

@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], indirect=True, ids=["pc"])
def test_every_console_screen_passes_axe(
    at: Page, bank: Bank, tour: Tour, viewport: Viewport,
) -> None:
    customer = bank.customer(otp=True)
    assert customer.token is not None
    operator = bank.staff(StaffRole.OPERATOR)

    at.goto("/console/login")
    tour.visit(at, "console-sign-in")
    assert focused_id(at) == "f-staff_id"
    fill(at, staff_id=operator.name, password="wrong-password", otp="000000")
    submit(at)
    tour.visit(at, "console-sign-in-refused")
    fill(at, staff_id=operator.name, password=operator.password,
         otp=bank.staff_code(operator))
    submit(at)
    assert at.url.endswith("/console")
    tour.visit(at, "console-search", form=False)
    at.locator("#q").fill("0000000000")
    with at.expect_navigation():
        at.locator("main button.primary").click()
    tour.visit(at, "console-search-not-found", form=False)

    at.goto(f"/console/customers/{customer.contract_id}")
    tour.visit(at, "console-customer", form=False)
    revoke = at.locator("form[action$='/revoke']")
    revoke.locator("select[name=reason]").select_option("紛失届")
    with at.expect_navigation():
        revoke.locator("button[type=submit]").click()
    # A revocation waits for a supervisor: its form cannot be sent again meanwhile.
    expect(revoke.locator("fieldset")).to_have_attribute("disabled", "")
    expect(revoke.locator("button[type=submit]")).to_be_disabled()
    expect(revoke).to_contain_text("このトークンの失効は申請済みで、責任者の承認を待っています。")
    tour.visit(at, "console-customer-revoke-pending", form=False)
    folder = SCREENSHOTS / viewport.name
    folder.mkdir(parents=True, exist_ok=True)
    at.screenshot(path=folder / "console-revoke-pending.png", full_page=True)

    at.goto("/console/requests")
    tour.visit(at, "console-requests", form=False)
    at.goto(f"/console/audit?contract_id={customer.contract_id}")
    tour.visit(at, "console-audit", form=False)
    at.goto("/console/audit?verify=1")
    tour.visit(at, "console-audit-verified", form=False)
