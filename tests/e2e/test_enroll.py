"""利用開始 in the browser, as the bank's guide draws it (①–⑧), then the first login with
the login OTP; and what the token step does with a wrong or malformed OTP."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from kinko.domain.masking import mask_serial
from kinko.domain.serials import format_serial
from tests.e2e.bank import Bank
from tests.e2e.ib import (
    Screenshots,
    enter_credentials,
    expect_step,
    field,
    fill,
    follow,
    log_in,
    press,
)

FULL_WIDTH = str.maketrans("0123456789 ", "０１２３４５６７８９　")


def test_a_customer_starts_using_otp_and_then_logs_in_with_it(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer()
    token = bank.issue_token()
    shot = screenshots("enroll")

    # 利用開始 at the bottom of the login screen (the guide's ①); the screens number their
    # own steps 1, 2, 3…
    page.goto("/login")
    shot("login-screen")
    follow(page, "利用開始")
    assert page.url.endswith("/otp/enroll")
    expect(page.locator(".flow-title")).to_have_text("ワンタイムパスワード利用開始")

    # ① contract ID + login password, 次へ (the guide's ②③)
    expect_step(page, "①", "契約者ID・ログインパスワードの入力")
    enter_credentials(page, customer)
    shot("credentials")
    press(page, "次へ")

    # ② the serial shown under the code (typed in full-width digits) + the OTP (guide's ④)
    expect_step(page, "②", "シリアル番号・ワンタイムパスワードの入力")
    fill(page, serial=format_serial(token.token.serial).translate(FULL_WIDTH),
         otp=bank.code(token))
    shot("serial-and-otp")
    press(page, "次へ")

    # ③ login OTP する, confirmation password, 登録 (the guide's ⑤⑥⑦)
    expect_step(page, "③", "確認用パスワードの入力")
    page.locator("input[name=login_otp][value=yes]").check()
    fill(page, confirmation_password=customer.confirmation_password)
    shot("login-otp-and-confirmation-password")
    press(page, "登録")

    # ④ done, with the serial masked as in notices, and back to the login screen
    expect_step(page, "④", "完了")
    expect(page.locator("main")).to_contain_text(mask_serial(token.token.serial))
    expect(page.locator(".notice")).to_have_text("ワンタイムパスワードの利用を開始しました。")
    expect(page.locator("main")).to_contain_text("ログイン時にもワンタイムパスワードが必要です。")
    shot("done")
    follow(page, "ログイン画面へ戻る")
    assert page.url.endswith("/login")

    # From now on login asks for the OTP too.
    log_in(page, customer, shot)
    assert page.url.endswith("/login/otp")
    expect(page.locator("h1")).to_have_text("ログイン時のワンタイムパスワード認証")
    fill(page, otp=bank.code(token))
    shot("login-otp")
    press(page, "ログイン")
    assert page.url.endswith("/home")
    expect(page.locator(".status")).to_have_text("ワンタイムパスワード: 利用中")
    shot("home")


def test_a_wrong_otp_at_the_token_step_is_explained_and_keeps_the_serial_but_not_the_otp(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer()
    token = bank.issue_token()
    typed_serial = format_serial(token.token.serial).replace(" ", "-")
    shot = screenshots("enroll-wrong-otp")
    page.goto("/otp/enroll")
    enter_credentials(page, customer)
    press(page, "次へ")

    # The OTP box is made for the token app's code: a numeric keypad, one-time-code autofill.
    otp = field(page, "otp")
    expect(otp).to_have_attribute("inputmode", "numeric")
    expect(otp).to_have_attribute("autocomplete", "one-time-code")

    # Too short: the message sits under the field; nothing was checked against the token.
    fill(page, serial=typed_serial, otp="12")
    press(page, "次へ")
    expect_step(page, "②", "シリアル番号・ワンタイムパスワードの入力")
    expect(page.locator(".field-error")).to_have_text(
        "ワンタイムパスワードは6桁の数字で入力してください。")
    expect(field(page, "serial")).to_have_value(typed_serial)
    expect(field(page, "otp")).to_have_value("")
    shot("malformed-otp")

    # Six digits, but not the token's code: the screen says so, in Japanese.
    fill(page, otp=bank.wrong_code(token))
    press(page, "次へ")
    expect_step(page, "②", "シリアル番号・ワンタイムパスワードの入力")
    expect(page.locator("p.error")).to_have_text(
        "ワンタイムパスワードが正しくありません。あと4回間違えると利用できなくなります。")
    expect(field(page, "serial")).to_have_value(typed_serial)
    expect(field(page, "otp")).to_have_value("")
    shot("wrong-otp")
    assert bank.token(token).failures == 1

    # Only the OTP needs typing again.
    fill(page, otp=bank.code(token))
    press(page, "次へ")
    expect_step(page, "③", "確認用パスワードの入力")
    shot("next-step")
