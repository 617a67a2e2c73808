"""振込 and 収納サービス: input → confirmation with the OTP (or, without OTP, the confirmation
password) → completion with a receipt number; the balance on ホーム follows."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from kinko.banking.rules import OTHER_BANK_FEE, OUR_BANK_CODE
from tests.e2e.bank import BRANCH_CODE, Bank, Customer
from tests.e2e.ib import (
    Screenshots,
    balance_on_home,
    field,
    fill,
    follow,
    log_in,
    press,
    summary_value,
    yen,
)

BILLER = "12345"  # きんこ電力


def fill_transfer(page: Page, *, bank_code: str, account_number: str, kana: str,
                  amount: str) -> None:
    page.goto("/transfer")
    expect(page.locator("main")).to_contain_text("振込内容の入力")
    fill(page, bank_code=bank_code, branch_code=BRANCH_CODE, account_number=account_number,
         payee_kana=kana, amount=amount)
    page.locator("#f-account_type").select_option("ordinary")


def fill_bill_payment(page: Page, *, amount: str) -> None:
    page.goto("/billpay")
    expect(page.locator("main")).to_contain_text("払込内容の入力")
    fill(page, biller_number=BILLER, customer_number="20240401", confirmation_number="5555",
         amount=amount)


def expect_receipt(page: Page, prefix: str, notice: str) -> str:
    expect(page.locator(".notice")).to_have_text(notice)
    number = summary_value(page, "受付番号")
    assert number.startswith(prefix), number
    assert page.url.endswith(f"/receipts/{number}")
    return number


def log_in_without_login_otp(page: Page, customer: Customer) -> None:
    log_in(page, customer)
    assert page.url.endswith("/home")


def test_a_transfer_to_another_customer_at_our_bank_is_confirmed_with_the_otp(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer(otp=True)
    payee = bank.customer()
    assert customer.token is not None
    shot = screenshots("transfer-otp")
    log_in_without_login_otp(page, customer)
    before = balance_on_home(page)
    shot("home-before")

    fill_transfer(page, bank_code=OUR_BANK_CODE, account_number=payee.account.account_number,
                  kana="シケン　タロウ", amount="12,000")
    shot("input")
    press(page, "次へ")

    expect(page.locator("h1")).to_have_text("振込内容の確認")
    assert summary_value(page, "振込金額") == "12,000円"
    fee = yen(summary_value(page, "振込手数料"))
    assert fee == 0  # within our bank
    assert yen(summary_value(page, "お引出し合計")) == 12_000 + fee
    # at our bank the name is the account holder's, from the ledger, whatever was typed
    assert summary_value(page, "受取人名 (口座名義)") == payee.account.holder_kana
    expect(field(page, "confirmation_password")).to_have_count(0)
    fill(page, otp=bank.code(customer.token))
    shot("confirm-with-otp")
    press(page, "実行")

    expect_receipt(page, "T", "お振込を受け付けました。")
    assert yen(summary_value(page, "残高")) == before - (12_000 + fee)
    shot("receipt")
    follow(page, "ホームへ戻る")
    assert yen(page.locator(".balance").inner_text()) == before - (12_000 + fee)
    shot("home-after")
    assert bank.balance(payee.account) == payee.account.balance + 12_000


def test_a_bill_payment_is_confirmed_with_the_otp(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer(otp=True)
    assert customer.token is not None
    shot = screenshots("billpay-otp")
    log_in_without_login_otp(page, customer)
    before = balance_on_home(page)

    fill_bill_payment(page, amount="8,640")
    shot("input")
    press(page, "次へ")

    expect(page.locator("h1")).to_have_text("払込内容の確認")
    assert summary_value(page, "収納機関") == f"きんこ電力 ({BILLER})"
    assert summary_value(page, "払込金額") == "8,640円"
    fill(page, otp=bank.code(customer.token))
    shot("confirm-with-otp")
    press(page, "実行")

    expect_receipt(page, "P", "お支払いを受け付けました。")
    shot("receipt")
    assert balance_on_home(page) == before - 8_640
    shot("home-after")


def test_without_otp_payments_are_confirmed_with_the_confirmation_password(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer()
    shot = screenshots("payments-without-otp")
    log_in_without_login_otp(page, customer)
    expect(page.locator(".status")).to_have_text("ワンタイムパスワード: 未利用")
    before = balance_on_home(page)
    shot("home-before")

    # 振込 to another bank: a fee is charged.
    fill_transfer(page, bank_code="0001", account_number="1234567", kana="ミズホ　ハナコ",
                  amount="50000")
    shot("transfer-input")
    press(page, "次へ")
    expect(page.locator("h1")).to_have_text("振込内容の確認")
    assert summary_value(page, "受取人名 (カナ)") == "ﾐｽﾞﾎ ﾊﾅｺ"  # typed in full-width kana
    assert summary_value(page, "振込手数料") == f"{OTHER_BANK_FEE:,}円"
    expect(field(page, "otp")).to_have_count(0)
    fill(page, confirmation_password=customer.confirmation_password)
    shot("transfer-confirm-with-password")
    press(page, "実行")
    expect_receipt(page, "T", "お振込を受け付けました。")
    shot("transfer-receipt")

    # 収納サービス
    fill_bill_payment(page, amount="3000")
    shot("billpay-input")
    press(page, "次へ")
    expect(page.locator("h1")).to_have_text("払込内容の確認")
    expect(field(page, "otp")).to_have_count(0)
    fill(page, confirmation_password=customer.confirmation_password)
    shot("billpay-confirm-with-password")
    press(page, "実行")
    expect_receipt(page, "P", "お支払いを受け付けました。")
    shot("billpay-receipt")

    assert balance_on_home(page) == before - (50_000 + OTHER_BANK_FEE) - 3_000
    shot("home-after")
