"""Transfers as a real IB has them (issue 15 point 8), in chromium at PC and phone width:
a payee saved from a transfer's receipt and chosen for the next one, the bank and branch
search, and the daily transfer limit lowered freely and raised with the password."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y import Audit, open_page
from tests.e2e.bank import Bank
from tests.e2e.conftest import LiveServer, Viewport
from tests.e2e.ib import Screenshots, field, fill, follow, log_in, press, summary_value


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, viewport: Viewport) -> Iterator[Page]:
    """A page that lets axe in (``open_page``), at the viewport's size."""
    with open_page(browser, live_server, width=viewport.width, height=viewport.height,
                   mobile=viewport.mobile) as opened:
        yield opened


@pytest.fixture
def audit(viewport: Viewport) -> Iterator[Audit]:
    """axe (no serious or critical violation) and 44 px tap targets on each new screen."""
    found = Audit(viewport.name)
    yield found
    found.assert_clean()


def test_a_payee_saved_from_a_receipt_is_chosen_for_the_next_transfer_and_deleted(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots], audit: Audit,
) -> None:
    customer = bank.customer()
    shot = screenshots("payees")
    log_in(page, customer)

    # find the bank and the branch by name instead of typing their codes
    page.goto("/transfer/banks")
    fill(page, q="みずほ")
    with page.expect_navigation():
        page.get_by_role("button", name="検索").click()
    follow(page, "みずほ銀行 (0001)")
    fill(page, q="しんじゅく")
    with page.expect_navigation():
        page.get_by_role("button", name="検索").click()
    shot("branch-search")
    audit.check(page, "branch-search")
    follow(page, "新宿支店 (110)")
    expect(field(page, "bank_code")).to_have_value("0001")
    expect(field(page, "branch_code")).to_have_value("110")
    fill(page, account_number="1234567", payee_kana="ミズホ　ジロウ", amount="20,000")
    press(page, "次へ")
    assert summary_value(page, "振込先") == "みずほ銀行 (0001) 新宿支店 (110) 普通 1234567"
    fill(page, confirmation_password=customer.confirmation_password)
    press(page, "実行")
    expect(page.locator(".notice")).to_have_text("お振込を受け付けました。")

    # save it from the receipt
    with page.expect_navigation():
        page.get_by_role("button", name="この振込先を登録する").click()
    expect(page.locator(".notice")).to_have_text("振込先を登録しました。")
    expect(page.locator(".payee")).to_have_text(["みずほ銀行 新宿支店 普通 1234567 ﾐｽﾞﾎ ｼﾞﾛｳ"])
    shot("payee-list")
    audit.check(page, "payee-list")

    # choose it for the next transfer: the payee is filled in
    with page.expect_navigation():
        page.locator(".payees a.button", has_text="振込").first.click()
    expect(field(page, "account_number")).to_have_value("1234567")
    expect(field(page, "payee_kana")).to_have_value("ﾐｽﾞﾎ ｼﾞﾛｳ")
    shot("transfer-from-payee")
    audit.check(page, "transfer-from-payee")

    # and delete it, after a confirmation
    page.goto("/payees")
    follow(page, "削除")
    shot("delete-confirm")
    audit.check(page, "delete-confirm")
    press(page, "削除する")
    expect(page.locator(".notice")).to_have_text("振込先を削除しました。")
    expect(page.locator(".payee")).to_have_count(0)


def test_the_daily_limit_is_lowered_freely_and_raised_with_the_confirmation_password(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots], audit: Audit,
) -> None:
    customer = bank.customer()
    shot = screenshots("transfer-limit")
    log_in(page, customer)
    page.goto("/transfer")
    follow(page, "振込限度額の変更")
    assert summary_value(page, "現在の振込限度額 (1日あたり)") == "1,000,000円"
    shot("limit")
    audit.check(page, "limit")
    fill(page, daily_limit="３０，０００")
    press(page, "変更する")
    expect(page.locator(".notice")).to_have_text("振込限度額を変更しました。")
    assert summary_value(page, "現在の振込限度額 (1日あたり)") == "30,000円"

    fill(page, daily_limit="2,000,000")
    press(page, "変更する")
    expect(page.locator(".field-error")).to_have_text(
        "振込限度額を引き上げるには、確認用パスワードを入力してください。")
    shot("raise-needs-password")
    audit.check(page, "raise-needs-password")
    fill(page, daily_limit="2,000,000", confirmation_password=customer.confirmation_password)
    press(page, "変更する")
    expect(page.locator(".notice")).to_have_text("振込限度額を変更しました。")
    assert summary_value(page, "現在の振込限度額 (1日あたり)") == "2,000,000円"
    shot("raised")
