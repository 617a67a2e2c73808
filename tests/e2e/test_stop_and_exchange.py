"""交換 (a new smartphone) and 利用中止, each followed by the transaction it leads to."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from kinko.banking.rules import OUR_BANK_CODE
from kinko.domain.lifecycle import TokenState
from kinko.domain.masking import mask_serial
from kinko.domain.serials import format_serial
from tests.e2e.bank import BRANCH_CODE, Bank
from tests.e2e.ib import (
    Screenshots,
    enter_credentials,
    expect_step,
    field,
    fill,
    follow,
    log_in,
    press,
    summary_value,
)


def transfer_to_confirmation(page: Page, account_number: str) -> None:
    page.goto("/transfer")
    fill(page, bank_code=OUR_BANK_CODE, branch_code=BRANCH_CODE, account_number=account_number,
         payee_kana="ｼｹﾝ ﾀﾛｳ", amount="1000")
    press(page, "次へ")
    expect(page.locator("h1")).to_have_text("振込内容の確認")


def test_an_exchange_moves_the_customer_to_the_new_token(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer(otp=True)
    payee = bank.customer()
    old = customer.token
    assert old is not None
    new = bank.issue_token()  # the app, installed on the new phone, made a token (guide ①)
    shot = screenshots("exchange")

    # 交換 on the login screen (the guide's ②); the screens number their own steps
    page.goto("/login")
    follow(page, "交換")
    expect(page.locator(".flow-title")).to_have_text("ワンタイムパスワード交換")

    # ① contract ID + login password, 次へ (the guide's ③); the old token's code is next
    expect_step(page, "①", "契約者ID・ログインパスワードの入力")
    expect(page.locator("main")).to_contain_text(
        "次の画面では、現在お使いのトークンに表示されているワンタイムパスワードを入力します。")
    enter_credentials(page, customer)
    shot("credentials")
    press(page, "次へ")

    # ② the OLD token's OTP, 次へ (the guide's ④)
    expect_step(page, "②", "現在お使いのトークンのワンタイムパスワードの入力")
    fill(page, otp=bank.code(old))
    shot("old-token-otp")
    press(page, "次へ")

    # ③ serial + OTP of the NEW token, 登録 (the guide's ⑤)
    expect_step(page, "③", "新しいトークンのシリアル番号・ワンタイムパスワードの入力")
    fill(page, serial=format_serial(new.token.serial), otp=bank.code(new))
    shot("new-token-serial-and-otp")
    press(page, "登録")

    # ④ done (the guide's ⑥), naming the new token's serial, masked
    expect_step(page, "④", "完了")
    expect(page.locator("main")).to_contain_text(mask_serial(new.token.serial))
    expect(page.locator(".notice")).to_have_text("ソフトウェアトークンの交換が完了しました。")
    shot("done")
    assert bank.token(old).state is TokenState.REVOKED
    assert bank.token(new).state is TokenState.ACTIVE

    # From now on the new token's code confirms a transfer.
    log_in(page, customer)
    transfer_to_confirmation(page, payee.account.account_number)
    fill(page, otp=bank.code(new))
    shot("transfer-with-new-token")
    press(page, "実行")
    expect(page.locator(".notice")).to_have_text("お振込を受け付けました。")
    assert summary_value(page, "受付番号").startswith("T")
    shot("transfer-receipt")


def test_stopping_otp_brings_back_the_confirmation_password(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer(otp=True)
    payee = bank.customer()
    assert customer.token is not None
    shot = screenshots("stop")

    # 利用中止 on the login screen (the guide's ①)
    page.goto("/login")
    follow(page, "利用中止")
    expect(page.locator(".flow-title")).to_have_text("ワンタイムパスワード利用中止")

    # ① contract ID + login password, 次へ (the guide's ②)
    expect_step(page, "①", "契約者ID・ログインパスワードの入力")
    enter_credentials(page, customer)
    shot("credentials")
    press(page, "次へ")

    # ② the guide's caution, to be confirmed before any code is asked for; the way out
    # reads キャンセル, never a word like the 停止 it sits beside
    expect_step(page, "②", "利用中止の注意事項の確認")
    expect(page.locator("main")).to_contain_text(
        "確認用パスワードは、ワンタイムパスワードより安全性が低くなります。")
    expect(page.locator("a.secondary")).to_have_text("キャンセル")
    shot("caution")
    press(page, "中止手続きへ進む")

    # ③ the token's OTP + confirmation password, 停止 (the guide's ③)
    expect_step(page, "③", "ワンタイムパスワード・確認用パスワードの入力")
    expect(page.locator("a.secondary")).to_have_text("キャンセル")
    fill(page, otp=bank.code(customer.token),
         confirmation_password=customer.confirmation_password)
    shot("otp-and-confirmation-password")
    press(page, "停止")

    # ④ done
    expect_step(page, "④", "完了")
    expect(page.locator(".notice")).to_have_text("ワンタイムパスワードの利用を中止しました。")
    shot("done")
    assert bank.token(customer.token).state is TokenState.REVOKED

    # Transactions ask for the confirmation password again.
    log_in(page, customer)
    expect(page.locator(".status")).to_have_text("ワンタイムパスワード: 未利用")
    transfer_to_confirmation(page, payee.account.account_number)
    expect(field(page, "otp")).to_have_count(0)
    fill(page, confirmation_password=customer.confirmation_password)
    shot("transfer-with-confirmation-password")
    press(page, "実行")
    expect(page.locator(".notice")).to_have_text("お振込を受け付けました。")
    shot("transfer-receipt")
