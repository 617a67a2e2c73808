"""What the customer sees of their one-time password's state, in chromium at PC and phone
width (issue 15 points 1 and 7): the warning before the lock, the lock and the suspension
at home and at the confirmation screen (no code field, no 実行, the help desk in the
message), the previous login and the OTP history. Screenshots: lock-*, suspended-*,
history-* under artifacts/screenshots/<viewport>/."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from kinko.domain.events import Actor
from kinko.domain.lifecycle import TokenState
from kinko.services import staff
from kinko.web.i18n import HELP_DESK
from tests.e2e.bank import Bank
from tests.e2e.ib import Screenshots, field, fill, log_in, press
from tests.e2e.test_stop_and_exchange import transfer_to_confirmation

LOCKED = f"ワンタイムパスワードがロックされています。{HELP_DESK}までお問い合わせください。"
SUSPENDED = f"ワンタイムパスワードが利用停止中です。{HELP_DESK}までお問い合わせください。"
WARNING = "ワンタイムパスワードが正しくありません。あと{}回間違えると利用できなくなります。"


def expect_no_way_to_confirm(page: Page) -> None:
    """The confirmation screen of a customer whose token takes no codes: nothing to type,
    nothing to press but the way home."""
    expect(field(page, "otp")).to_have_count(0)
    expect(field(page, "confirmation_password")).to_have_count(0)
    expect(page.get_by_role("button", name="実行")).to_have_count(0)
    expect(page.get_by_role("link", name="ホームへ戻る")).to_be_visible()


def test_wrong_codes_warn_before_the_lock_and_the_lock_is_shown_everywhere(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer(otp=True)
    payee = bank.customer()
    token = customer.token
    assert token is not None
    shot = screenshots("lock")
    log_in(page, customer)
    expect(page.locator(".status")).to_have_text("ワンタイムパスワード: 利用中")

    transfer_to_confirmation(page, payee.account.account_number)
    for remaining in (4, 3, 2, 1):
        fill(page, otp=bank.wrong_code(token))
        press(page, "実行")
        expect(page.locator("p.error")).to_have_text(WARNING.format(remaining))
        if remaining == 1:
            shot("last-warning")
    fill(page, otp=bank.wrong_code(token))
    press(page, "実行")
    expect(page.locator("p.error")).to_have_text(LOCKED)
    expect_no_way_to_confirm(page)
    shot("confirmation-locked")
    assert bank.token(token).state is TokenState.LOCKED

    page.goto("/home")
    expect(page.locator(".status")).to_have_text("ワンタイムパスワード: ロック中")
    expect(page.locator("p.error")).to_contain_text(LOCKED)
    expect(page.locator("main")).not_to_contain_text("ワンタイムパスワード: 利用中")
    shot("home-locked")

    # A new transfer stops at the same confirmation screen, which says why.
    transfer_to_confirmation(page, payee.account.account_number)
    expect(page.locator("p.error")).to_have_text(LOCKED)
    expect_no_way_to_confirm(page)


def test_a_token_the_bank_suspended_is_shown_at_home_and_at_the_confirmation(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer(otp=True)
    payee = bank.customer()
    assert customer.token is not None
    staff.suspend(bank.ctx, customer.token.token.serial, reason="紛失届",
                  actor=Actor.staff("e2e"), contract_id=customer.contract_id)
    shot = screenshots("suspended")
    log_in(page, customer)
    expect(page.locator(".status")).to_have_text("ワンタイムパスワード: 利用停止中")
    expect(page.locator("p.error")).to_contain_text(SUSPENDED)
    shot("home")
    transfer_to_confirmation(page, payee.account.account_number)
    expect(page.locator("p.error")).to_have_text(SUSPENDED)
    expect_no_way_to_confirm(page)
    shot("confirmation")


def test_home_shows_the_previous_login_and_the_history_each_use(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer(otp=True)
    payee = bank.customer()
    token = customer.token
    assert token is not None
    shot = screenshots("history")
    log_in(page, customer)
    expect(page.locator(".previous-login")).to_contain_text("今回が初めてのログインです。")
    transfer_to_confirmation(page, payee.account.account_number)
    fill(page, otp=bank.wrong_code(token))
    press(page, "実行")
    fill(page, otp=bank.code(token))
    press(page, "実行")
    expect(page.locator(".notice")).to_have_text("お振込を受け付けました。")

    with page.expect_navigation():
        page.get_by_role("button", name="ログアウト").click()
    log_in(page, customer)
    expect(page.locator(".previous-login")).to_contain_text("前回ログイン日時")
    expect(page.locator(".previous-login time")).to_have_count(1)
    shot("home-previous-login")

    page.goto("/otp/history")
    rows = page.locator("tbody tr td:nth-child(2)")
    expect(rows.nth(0)).to_have_text("ワンタイムパスワード認証 (振込)")
    expect(rows.nth(1)).to_have_text("認証失敗 (ワンタイムパスワードの誤り)")
    expect(rows.nth(2)).to_have_text("登録 (利用開始)")
    shot("otp-history")
