"""What a customer sees of their one-time password's state (issue 15, points 1, 4, 6, 7):
the lock and the suspension shown at home and at the confirmation screen with the help
desk's number, the warning before the lock, which password is locked, the 利用中止 caution,
steps numbered as the customer meets them, the previous login, the OTP history and the
serial on the done screens."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from httpx import Response

from kinko.domain.errors import TokenLocked, WrongCode
from kinko.domain.events import Actor
from kinko.domain.masking import mask_serial
from kinko.domain.model import Customer
from kinko.services import staff, transactions
from kinko.web.i18n import HELP_DESK, translate
from kinko.web.pages import JST
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness, IssuedToken
from tests.web.client import Browser, text_of
from tests.web.test_customer_http import _request_key, _transfer_to_confirm, with_account

LOCKED = f"ワンタイムパスワードがロックされています。{HELP_DESK}までお問い合わせください。"
SUSPENDED = f"ワンタイムパスワードが利用停止中です。{HELP_DESK}までお問い合わせください。"
OTP_FIELD = re.compile(r'name="otp"')
EXECUTE = re.compile(r"<button[^>]*>\s*実行\s*</button>")
STAFF = Actor.staff("S0001")
CANCEL = re.compile(r'<a class="secondary" href="/login">\s*キャンセル\s*</a>')


@pytest.fixture
def browser(harness: Harness) -> Browser:
    return Browser(harness)


def _payer_and_payee(h: Harness) -> tuple[Customer, Customer]:
    payer, payee = h.customer("1000000001"), h.customer("1000000002", name="金庫 花子")
    with_account(h, payer)
    with_account(h, payee)
    return payer, payee


def flat(response: Response) -> str:
    """The page's visible text with each run of white space made one space."""
    return re.sub(r"\s+", " ", text_of(response))


def _error_of(page: str) -> str:
    """The text of the page's alert: the message itself, not the footer."""
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    assert found is not None, page[:800]
    return re.sub(r"\s+", " ", found.group(1)).strip()


def _lock(h: Harness, customer: Customer, issued: IssuedToken) -> None:
    for _ in range(4):
        with pytest.raises(WrongCode):
            transactions.authorize(h.ctx, customer.id, purpose="transfer",
                                   code=h.wrong_code(issued))
    with pytest.raises(TokenLocked):
        transactions.authorize(h.ctx, customer.id, purpose="transfer",
                               code=h.wrong_code(issued))


# --- point 1: the lock state -------------------------------------------------------------

def test_each_wrong_code_warns_how_many_more_lock_the_token_then_home_shows_the_lock(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    payer, payee = _payer_and_payee(h)
    issued = h.enroll(payer)
    b.login(payer.contract_id)
    assert "ワンタイムパスワード: 利用中" in text_of(b.get("/home"))
    key = _request_key(_transfer_to_confirm(b, payee, amount="1000"))
    for remaining in (4, 3, 2, 1):
        wrong = b.post("/transfer/confirm", {"otp": h.wrong_code(issued).reveal(),
                                             "request_key": key})
        assert _error_of(wrong.text) == ("ワンタイムパスワードが正しくありません。"
                                         f"あと{remaining}回間違えると利用できなくなります。")
    locked = b.post("/transfer/confirm", {"otp": h.wrong_code(issued).reveal(),
                                          "request_key": key})
    assert _error_of(locked.text).startswith(LOCKED)

    home = b.get("/home")
    assert "ワンタイムパスワード: ロック中" in text_of(home)
    assert "ワンタイムパスワード: 利用中" not in text_of(home)
    assert _error_of(home.text).startswith(LOCKED)  # the help desk's number in the message


def test_the_login_otp_step_warns_before_the_lock_too(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    issued = h.enroll(customer, login_otp=True)
    b.login(customer.contract_id)
    wrong = b.submit("/login/otp", {"otp": h.wrong_code(issued).reveal()})
    assert "あと4回間違えると利用できなくなります。" in _error_of(wrong.text)


def test_a_locked_token_gets_no_code_field_and_no_execute_button_at_the_confirmation(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    payer, payee = _payer_and_payee(h)
    _lock(h, payer, h.enroll(payer))
    b.login(payer.contract_id)
    confirm = _transfer_to_confirm(b, payee, amount="1000")
    assert not OTP_FIELD.search(confirm.text)
    assert not EXECUTE.search(confirm.text)
    assert 'name="confirmation_password"' not in confirm.text  # no fallback to the password
    assert _error_of(confirm.text).startswith(LOCKED)
    assert ("ロックが解除されるまで、お振込・収納サービスはご利用いただけません。"
            in text_of(confirm))


def test_a_token_suspended_by_the_bank_is_shown_at_home_and_at_the_confirmation(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    payer, payee = _payer_and_payee(h)
    issued = h.enroll(payer)
    staff.suspend(h.ctx, issued.token.serial, reason="紛失届", actor=STAFF,
                  contract_id=payer.contract_id)
    b.login(payer.contract_id)
    home = b.get("/home")
    assert "ワンタイムパスワード: 利用停止中" in text_of(home)
    assert _error_of(home.text).startswith(SUSPENDED)
    confirm = _transfer_to_confirm(b, payee, amount="1000")
    assert not OTP_FIELD.search(confirm.text) and not EXECUTE.search(confirm.text)
    assert _error_of(confirm.text).startswith(SUSPENDED)


def test_the_lock_message_reads_in_english_with_the_help_desk(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    _lock(h, customer, h.enroll(customer))
    b.login(customer.contract_id)
    b.get("/lang/en?next=/home")
    home = b.get("/home")
    assert "One-time password: locked" in text_of(home)
    assert translate(HELP_DESK, "en") in _error_of(home.text)
    assert "Your one-time password is locked." in _error_of(home.text)


def test_a_locked_confirmation_password_is_named(browser: Browser) -> None:
    b, h = browser, browser.h
    payer, payee = _payer_and_payee(h)  # no OTP: transfers take the confirmation password
    b.login(payer.contract_id)
    key = _request_key(_transfer_to_confirm(b, payee, amount="1000"))
    for _ in range(5):
        b.post("/transfer/confirm", {"confirmation_password": "not-it-99", "request_key": key})
    locked = b.post("/transfer/confirm", {"confirmation_password": CONFIRMATION_PASSWORD,
                                          "request_key": key})
    assert _error_of(locked.text) == (
        f"確認用パスワードがロックされています。{HELP_DESK}までお問い合わせください。")


# --- point 4: 利用中止 ---------------------------------------------------------------------

def _stop_until_caution(b: Browser, customer: Customer) -> str:
    b.get("/otp/stop")
    response = b.post("/otp/stop", {"contract_id": customer.contract_id,
                                    "login_password": LOGIN_PASSWORD})
    assert response.headers["location"] == "/otp/stop/caution"
    return b.get("/otp/stop/caution").text


def test_stopping_asks_for_confirmation_with_the_guides_caution_before_any_code(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    h.enroll(customer)
    caution = _stop_until_caution(b, customer)
    assert "手順②" in caution and "利用中止の注意事項の確認" in caution
    assert "お振込などのお取引には確認用パスワードを使います。" in caution
    assert "確認用パスワードは、ワンタイムパスワードより安全性が低くなります。" in caution
    assert not OTP_FIELD.search(caution)
    assert CANCEL.search(caution) and not re.search(r">\s*中止する\s*</a>", caution)
    # The code step cannot be reached without passing the caution.
    skipped = b.post("/otp/stop/confirm", {"otp": "123456",
                                           "confirmation_password": CONFIRMATION_PASSWORD})
    assert skipped.headers["location"] == "/otp/stop"


def test_the_stop_step_labels_its_cancel_link_cancel_not_a_word_like_stop(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    issued = h.enroll(customer)
    _stop_until_caution(b, customer)
    assert b.post("/otp/stop/caution", {}).headers["location"] == "/otp/stop/confirm"
    confirm = b.get("/otp/stop/confirm").text
    assert CANCEL.search(confirm) and not re.search(r">\s*中止する\s*</a>", confirm)
    h.next_step()
    done = b.follow(b.post("/otp/stop/confirm", {
        "otp": h.code(issued).reveal(), "confirmation_password": CONFIRMATION_PASSWORD}))
    assert "ワンタイムパスワードの利用を中止しました。" in text_of(done)
    assert mask_serial(issued.token.serial) in text_of(done)


# --- point 6: steps ------------------------------------------------------------------------

def test_exchange_numbers_its_steps_from_one_and_says_the_old_tokens_code_comes_next(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    h.enroll(customer)
    first = flat(b.get("/otp/exchange"))
    assert "手順① 契約者ID・ログインパスワードの入力" in first
    assert ("次の画面では、現在お使いのトークンに表示されているワンタイムパスワードを入力します。"
            in first)
    b.post("/otp/exchange", {"contract_id": customer.contract_id,
                             "login_password": LOGIN_PASSWORD})
    assert "手順② 現在お使いのトークンのワンタイムパスワードの入力" in flat(
        b.get("/otp/exchange/old"))


# --- point 7: home, history, done screens, settings -----------------------------------------

def test_home_shows_the_previous_login_not_this_one(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    b.login(customer.contract_id)
    assert "今回が初めてのログインです。" in text_of(b.get("/home"))
    first_login = h.clock()
    h.clock.advance(3600)
    second = Browser(h)
    second.login(customer.contract_id)
    home = flat(second.get("/home"))
    assert f"前回ログイン日時: {first_login.astimezone(JST):%Y/%m/%d %H:%M}" in home
    assert f"{h.clock().astimezone(JST):%Y/%m/%d %H:%M}" not in home


def test_the_otp_history_lists_each_use_and_each_refusal_with_its_reason(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    payer, payee = _payer_and_payee(h)
    issued = h.enroll(payer, login_otp=True)
    b.login(payer.contract_id, code=h.code(issued).reveal())
    h.next_step()
    key = _request_key(_transfer_to_confirm(b, payee, amount="1000"))
    b.post("/transfer/confirm", {"otp": h.wrong_code(issued).reveal(), "request_key": key})
    b.post("/transfer/confirm", {"otp": h.code(issued).reveal(), "request_key": key})
    h.clock.advance(timedelta(minutes=1).total_seconds())
    rows = [re.sub(r"\s+", " ", row).strip() for row in re.findall(
        r"<tr[^>]*>\s*<td>.*?</td>\s*<td>(.*?)</td>", b.get("/otp/history").text, re.S)]
    assert rows == [
        "ワンタイムパスワード認証 (振込)",
        "認証失敗 (ワンタイムパスワードの誤り)",
        "ワンタイムパスワード認証 (ログイン)",
        "登録 (利用開始)",
    ]


def test_enrollment_done_shows_the_registered_serial_masked(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    issued = h.issue()
    b.get("/otp/enroll")
    b.post("/otp/enroll", {"contract_id": customer.contract_id,
                           "login_password": LOGIN_PASSWORD})
    b.get("/otp/enroll/token")
    b.post("/otp/enroll/token", {"serial": issued.token.serial,
                                 "otp": h.code(issued).reveal()})
    settings = text_of(b.get("/otp/enroll/settings"))
    assert "する (ログイン時にもワンタイムパスワードを入力する)" in settings
    done = flat(b.follow(b.post("/otp/enroll/settings", {
        "login_otp": "no", "confirmation_password": CONFIRMATION_PASSWORD})))
    assert "手順④ 完了" in done
    assert f"ご登録のシリアル番号 {mask_serial(issued.token.serial)}" in done
    assert issued.token.serial[:4] not in done.replace(mask_serial(issued.token.serial), "")


def test_the_settings_page_says_what_yes_means(browser: Browser) -> None:
    b, h = browser, browser.h
    customer = h.customer()
    h.enroll(customer)
    b.login(customer.contract_id)
    settings = flat(b.get("/settings/otp"))
    assert ("ログイン時のワンタイムパスワード認証 (現在の設定) "
            "しない (ログイン時はログインパスワードのみ)") in settings
    assert "する (ログイン時にもワンタイムパスワードを入力する)" in settings
    assert ("お振込などのお取引には、この設定にかかわらずワンタイムパスワードが必要です。"
            in settings)
