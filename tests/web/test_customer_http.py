"""The customer screens over HTTP: flow order, CSRF, sessions, lockouts, input forms and the
headers, on the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from httpx import Response

from kinko.banking.accounts import AccountType
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import Customer
from kinko.services.accounts import accounts_of, open_account
from kinko.web.app import SECURITY_HEADERS
from kinko.web.i18n import HELP_DESK
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness
from tests.web.client import REQUEST_KEY, Browser, text_of

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture
def browser(harness: Harness) -> Browser:
    return Browser(harness)


def with_account(h: Harness, customer: Customer, balance: int = 500_000) -> int:
    account = open_account(
        h.ctx, customer_id=customer.id, branch_code="001", branch_name="本店営業部",
        account_type=AccountType.ORDINARY, account_number=f"{customer.id:07d}",
        holder_kana="ﾃｽﾄ", balance=balance)
    return account.id


def balance_of(h: Harness, customer: Customer) -> int:
    return accounts_of(h.ctx, customer.id)[0].balance


def start_enrollment(b: Browser, customer: Customer) -> None:
    b.get("/otp/enroll")
    response = b.post("/otp/enroll", {"contract_id": customer.contract_id,
                                      "login_password": LOGIN_PASSWORD})
    assert response.headers["location"] == "/otp/enroll/token"


# --- flows: order, replay, idle ------------------------------------------------------

def test_enrollment_through_the_screens_binds_the_token(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    issued = h.issue()
    start_enrollment(b, customer)
    b.get("/otp/enroll/token")
    response = b.post("/otp/enroll/token", {"serial": issued.token.serial,
                                            "otp": h.code(issued).reveal()})
    assert response.headers["location"] == "/otp/enroll/settings"
    page = b.get("/otp/enroll/settings")
    assert "手順③" in text_of(page)  # numbered as the customer meets the steps
    response = b.post("/otp/enroll/settings", {"login_otp": "yes",
                                               "confirmation_password": CONFIRMATION_PASSWORD})
    done = b.follow(response)
    assert "ワンタイムパスワードの利用を開始しました。" in text_of(done)
    assert "ログイン時にもワンタイムパスワードが必要です。" in text_of(done)
    with h.ctx.uow() as uow:
        assert uow.tokens.by_serial(issued.token.serial).state is TokenState.ACTIVE  # type: ignore[union-attr]


def test_a_step_cannot_be_skipped_by_posting_to_it(browser: Browser) -> None:
    b, h = browser, browser.h
    issued = h.issue()
    b.get("/otp/enroll")
    response = b.post("/otp/enroll/token", {"serial": issued.token.serial,
                                            "otp": h.code(issued).reveal()})
    assert response.headers["location"] == "/otp/enroll"
    assert "操作の順番が正しくないため、最初からやり直してください。" in text_of(b.follow(response))
    # Nothing was checked: the code is still good, the token still unbound.
    with h.ctx.uow() as uow:
        assert uow.tokens.by_serial(issued.token.serial).last_step is None  # type: ignore[union-attr]


def test_a_step_cannot_be_repeated(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    start_enrollment(b, customer)
    # Posting the credentials step again once the flow has moved on restarts the flow.
    response = b.post("/otp/enroll", {"contract_id": customer.contract_id,
                                      "login_password": LOGIN_PASSWORD})
    assert response.headers["location"] == "/otp/enroll"
    assert "操作の順番が正しくない" in text_of(b.follow(response))


def test_a_finished_flow_cannot_be_replayed(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    h.enroll(customer)
    b.get("/otp/stop")
    b.post("/otp/stop", {"contract_id": customer.contract_id, "login_password": LOGIN_PASSWORD})
    b.post("/otp/stop/caution", {})
    b.get("/otp/stop/confirm")
    issued_code = _bound_code(h, customer)
    form = {"otp": issued_code, "confirmation_password": CONFIRMATION_PASSWORD}
    done = b.follow(b.post("/otp/stop/confirm", form))
    assert "ワンタイムパスワードの利用を中止しました。" in text_of(done)
    h.next_step()
    replay = b.post("/otp/stop/confirm", form)
    assert replay.headers["location"] == "/otp/stop"
    assert "この手続きは完了しています。" in text_of(b.follow(replay))


def test_an_idle_flow_starts_again_with_a_clear_message(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    issued = h.issue()
    start_enrollment(b, customer)
    h.clock.advance(11 * 60)
    response = b.post("/otp/enroll/token", {"serial": issued.token.serial,
                                            "otp": h.code(issued).reveal()})
    assert response.headers["location"] == "/otp/enroll"
    assert "一定時間操作がなかったため、最初からやり直してください。" in text_of(b.follow(response))


def test_wrong_inputs_are_shown_inline_and_keep_what_was_typed_but_no_secret(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    issued = h.issue()
    start_enrollment(b, customer)
    b.get("/otp/enroll/token")
    wrong = h.wrong_code(issued).reveal()
    response = b.post("/otp/enroll/token", {"serial": issued.token.serial, "otp": wrong})
    assert response.status_code == 422
    assert "ワンタイムパスワードが正しくありません。" in text_of(response)
    assert f'value="{issued.token.serial}"' in response.text
    assert wrong not in response.text
    malformed = b.post("/otp/enroll/token", {"serial": "1234", "otp": "12"})
    assert "シリアル番号は12桁の数字で入力してください。" in text_of(malformed)
    assert "ワンタイムパスワードは6桁の数字で入力してください。" in text_of(malformed)


# --- CSRF and sessions ---------------------------------------------------------------

@pytest.mark.parametrize("csrf", ["", "forged-token"])
def test_a_form_without_the_right_csrf_token_is_refused(browser: Browser, csrf: str) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    b.get("/login")
    response = b.post("/login", {"contract_id": customer.contract_id,
                                 "login_password": LOGIN_PASSWORD}, csrf=csrf)
    assert response.status_code == 403
    assert "画面の有効期限が切れました" in text_of(response)
    assert b.get("/home").headers["location"] == "/login"


def test_login_rotates_the_session_id_against_fixation(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    b.get("/login")
    planted = b.cookie
    assert planted
    assert b.login(customer.contract_id).headers["location"] == "/home"
    assert b.cookie and b.cookie != planted
    assert b.get("/home").status_code == 200
    # Whoever holds the pre-login session ID is not logged in.
    attacker = Browser(h)
    attacker.client.cookies.set("kinko_session", planted)
    assert attacker.get("/home").headers["location"] == "/login"


def test_session_cookie_is_http_only_and_same_site_lax(browser: Browser) -> None:
    response = browser.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    https = Browser(browser.h)
    https.client.base_url = "https://testserver"  # type: ignore[assignment]
    assert "secure" in https.get("/login").headers["set-cookie"].lower()


def test_sessions_time_out_after_ten_idle_minutes(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    b.login(customer.contract_id)
    h.clock.advance(9 * 60)
    assert b.get("/home").status_code == 200  # activity keeps the session alive
    h.clock.advance(10 * 60 + 1)
    response = b.get("/home")
    assert response.headers["location"] == "/login"
    assert "一定時間操作がなかったため、ログアウトしました。" in text_of(b.follow(response))


def test_sessions_live_in_the_database_so_another_process_serves_the_next_request(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    b.login(customer.contract_id)
    other_server = Browser(h)  # a second app instance on the same database
    other_server.client.cookies.set("kinko_session", b.cookie or "")
    assert other_server.get("/home").status_code == 200


def test_logout_ends_the_session(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    b.login(customer.contract_id)
    b.get("/home")
    old = b.cookie
    response = b.post("/logout", {})
    assert response.headers["location"] == "/login?bye=1"
    again = Browser(h)
    again.client.cookies.set("kinko_session", old or "")
    assert again.get("/home").headers["location"] == "/login"


# --- login, codes and locks ----------------------------------------------------------

def _bound_code(h: Harness, customer: Customer, steps: int = 0) -> str:
    with h.ctx.uow() as uow:
        token = uow.tokens.bound_to(customer.id)
        assert token is not None
        seed = uow.tokens.seed(token)
    return token.params.code_at(seed.reveal(), h.clock().timestamp() + 30 * steps)


def test_login_with_login_otp_takes_two_steps(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    h.enroll(customer, login_otp=True)
    response = b.submit("/login", {"contract_id": customer.contract_id,
                                   "login_password": LOGIN_PASSWORD})
    assert response.headers["location"] == "/login/otp"
    assert b.get("/home").headers["location"] == "/login"  # not yet logged in
    page = b.get("/login/otp")
    assert 'inputmode="numeric"' in page.text and 'autocomplete="one-time-code"' in page.text
    assert b.post("/login/otp", {"otp": _bound_code(h, customer)}).headers["location"] == "/home"


def test_a_code_used_at_login_is_refused_for_the_transfer(browser: Browser) -> None:
    b, h = browser, browser.h
    payer, payee = h.customer("1000000001"), h.customer("1000000002")
    with_account(h, payer)
    with_account(h, payee)
    h.enroll(payer, login_otp=True)
    code = _bound_code(h, payer)
    b.login(payer.contract_id, code)
    before = balance_of(h, payer)
    confirm = _transfer_to_confirm(b, payee, amount="1000")
    response = b.post("/transfer/confirm", {"otp": code,
                                            "request_key": _request_key(confirm)})
    assert response.status_code == 422
    assert "このワンタイムパスワードは使用済みです。" in text_of(response)
    assert balance_of(h, payer) == before


def test_five_wrong_codes_lock_the_token_and_the_customer_is_sent_to_the_bank(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    payer, payee = h.customer("1000000001"), h.customer("1000000002")
    with_account(h, payer)
    with_account(h, payee)
    issued = h.enroll(payer)
    b.login(payer.contract_id)
    confirm = _transfer_to_confirm(b, payee, amount="1000")
    key = _request_key(confirm)
    for remaining in (4, 3, 2, 1):
        wrong = b.post("/transfer/confirm", {"otp": h.wrong_code(issued).reveal(),
                                             "request_key": key})
        assert (f"ワンタイムパスワードが正しくありません。あと{remaining}回間違えると"
                "利用できなくなります。") in text_of(wrong)
    locked = b.post("/transfer/confirm", {"otp": h.wrong_code(issued).reveal(),
                                          "request_key": key})
    # The message itself names the help desk (its number and hours), not just the footer.
    told = f"ワンタイムパスワードがロックされています。{HELP_DESK}までお問い合わせください。"
    assert told in text_of(locked)
    right = b.post("/transfer/confirm", {"otp": h.code(issued).reveal(), "request_key": key})
    assert told in text_of(right)


def test_a_locked_login_password_says_to_contact_the_bank(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    # Five wrong passwords lock it; wrong ones keep reading as wrong (a guesser must not
    # learn that the contract ID exists), and the right one is told of the lock.
    for _ in range(6):
        response = b.login(customer.contract_id, password="wrong-password")
        assert "契約者IDまたはログインパスワードが正しくありません。" in text_of(response)
    response = b.login(customer.contract_id)
    assert (f"ログインパスワードがロックされています。{HELP_DESK}までお問い合わせください。"
            in text_of(response))


def test_at_the_stop_step_a_wrong_input_gives_no_hint_which_it_was(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    h.enroll(customer)
    b.get("/otp/stop")
    b.post("/otp/stop", {"contract_id": customer.contract_id, "login_password": LOGIN_PASSWORD})
    b.post("/otp/stop/caution", {})
    b.get("/otp/stop/confirm")
    wrong_password = b.post("/otp/stop/confirm", {"otp": _bound_code(h, customer),
                                                  "confirmation_password": "not-it-9"})
    h.next_step()
    with h.ctx.uow() as uow:
        token = uow.tokens.bound_to(customer.id)
    assert token is not None
    wrong_code = b.post("/otp/stop/confirm", {"otp": "000000" if _bound_code(h, customer)
                                              != "000000" else "111111",
                                              "confirmation_password": CONFIRMATION_PASSWORD})
    message = "ワンタイムパスワードまたは確認用パスワードが正しくありません。"
    assert message in text_of(wrong_password) and message in text_of(wrong_code)


def test_full_width_digits_are_accepted_everywhere(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    issued = h.issue()
    b.get("/otp/enroll")
    b.post("/otp/enroll", {"contract_id": customer.contract_id.translate(FULL_WIDTH),
                           "login_password": LOGIN_PASSWORD})
    b.get("/otp/enroll/token")
    serial = issued.token.serial
    typed = f"{serial[:4]}－{serial[4:8]}　{serial[8:]}".translate(FULL_WIDTH)
    response = b.post("/otp/enroll/token", {
        "serial": typed, "otp": h.code(issued).reveal().translate(FULL_WIDTH)})
    assert response.headers["location"] == "/otp/enroll/settings"
    login = Browser(h).login(customer.contract_id.translate(FULL_WIDTH))
    assert login.headers["location"] == "/home"


# --- money ---------------------------------------------------------------------------

def _transfer_to_confirm(b: Browser, payee: Customer, *, amount: str) -> Response:
    b.get("/transfer")
    source = re.search(r'<option value="(\d+)"', b.get("/transfer").text)
    assert source is not None
    response = b.post("/transfer", {
        "from_account_id": source.group(1), "bank_code": "1234", "branch_code": "001",
        "account_type": "ordinary", "account_number": f"{payee.id:07d}",
        "payee_kana": "ﾃｽﾄ", "amount": amount})
    assert response.headers.get("location") == "/transfer/confirm", text_of(response)[:400]
    return b.get("/transfer/confirm")


def _request_key(page: Response) -> str:
    found = REQUEST_KEY.search(page.text)
    assert found is not None
    return found.group(1)


def test_a_double_submitted_transfer_pays_once(browser: Browser) -> None:
    b, h = browser, browser.h
    payer, payee = h.customer("1000000001"), h.customer("1000000002")
    with_account(h, payer, 100_000)
    with_account(h, payee, 0)
    b.login(payer.contract_id)
    confirm = _transfer_to_confirm(b, payee, amount="１２，０００")
    assert "確認用パスワード" in text_of(confirm)  # no OTP in use: the password confirms
    form = {"confirmation_password": CONFIRMATION_PASSWORD, "request_key": _request_key(confirm)}
    first = b.post("/transfer/confirm", form)
    second = b.post("/transfer/confirm", form)
    assert first.headers["location"] == second.headers["location"]
    receipt = b.follow(first)
    assert re.search(r"T\d{11}", text_of(receipt))
    assert balance_of(h, payer) == 88_000
    assert balance_of(h, payee) == 12_000


def test_a_transfer_never_overdraws(browser: Browser) -> None:
    b, h = browser, browser.h
    payer, payee = h.customer("1000000001"), h.customer("1000000002")
    with_account(h, payer, 5_000)
    with_account(h, payee, 0)
    b.login(payer.contract_id)
    source = re.search(r'<option value="(\d+)"', b.get("/transfer").text)
    assert source is not None
    response = b.post("/transfer", {
        "from_account_id": source.group(1), "bank_code": "1234", "branch_code": "001",
        "account_type": "ordinary", "account_number": f"{payee.id:07d}",
        "payee_kana": "ﾃｽﾄ", "amount": "5001"})
    assert response.status_code == 422
    assert "残高が不足しています" in text_of(response)
    assert balance_of(h, payer) == 5_000


def test_authenticated_pages_carry_the_security_headers(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    with_account(h, customer)
    b.login(customer.contract_id)
    for url in ("/home", "/transfer", "/billpay", "/settings/otp", "/otp/history", "/login"):
        response = b.get(url)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (url, name)
    assert "no-store" in response.headers["cache-control"]
