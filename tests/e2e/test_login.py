"""Login for a customer who chose ログイン時のワンタイムパスワード認証: する."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.bank import Bank
from tests.e2e.ib import Screenshots, fill, log_in, press


def test_an_enrolled_customer_logs_in_with_password_then_otp(
    page: Page, bank: Bank, screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer(otp=True, login_otp=True)
    assert customer.token is not None
    shot = screenshots("login-otp")

    log_in(page, customer, shot)
    assert page.url.endswith("/login/otp")
    expect(page.locator("h1")).to_have_text("ログイン時のワンタイムパスワード認証")
    fill(page, otp=bank.code(customer.token))
    shot("otp")
    press(page, "ログイン")

    assert page.url.endswith("/home")
    expect(page.locator("h1")).to_contain_text(customer.name)
    expect(page.locator(".status")).to_have_text("ワンタイムパスワード: 利用中")
    shot("home")
