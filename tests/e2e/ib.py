"""What a customer does on the IB screens, as short helpers: fill a field, press the primary
button, log in, read a balance or a receipt number, and photograph each step.

Field names follow the templates: ``<input id="f-NAME">``, radios ``name=NAME``.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.e2e.bank import Customer

SCREENSHOTS = Path(__file__).parents[2] / "artifacts" / "screenshots"


class Screenshots:
    """Full-page screenshots of one flow: ``<viewport>/<flow>-<nn>-<step>.png``."""

    def __init__(self, page: Page, viewport: str, flow: str) -> None:
        self.page = page
        self.folder = SCREENSHOTS / viewport
        self.flow = flow
        self.count = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(f"{flow}-[0-9][0-9]-*.png"):
            stale.unlink()

    def __call__(self, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.flow}-{self.count:02d}-{step}.png"
        self.page.screenshot(path=path, full_page=True)
        return path


def field(page: Page, name: str) -> Locator:
    return page.locator(f"#f-{name}")


def fill(page: Page, **values: str) -> None:
    for name, value in values.items():
        field(page, name).fill(value)


def press(page: Page, label: str) -> None:
    """Press the screen's primary button, checking it says ``label``, and wait for the
    next page (a redirect, or the same form again with its errors)."""
    button = page.locator("button.primary")
    expect(button).to_have_text(label)
    with page.expect_navigation():
        button.click()


def follow(page: Page, link_text: str) -> None:
    with page.expect_navigation():
        page.get_by_role("link", name=link_text, exact=True).click()


def expect_step(page: Page, mark: str, name: str) -> None:
    """The heading shows the step's number in the flow, e.g. ``手順② シリアル番号…``."""
    expect(page.locator("h1")).to_contain_text(f"手順{mark}")
    expect(page.locator("h1")).to_contain_text(name)


def enter_credentials(page: Page, customer: Customer) -> None:
    fill(page, contract_id=customer.contract_id, login_password=customer.login_password)


def log_in(page: Page, customer: Customer, shot: Screenshots | None = None) -> None:
    """契約者ID and login password on /login; stops at /home or at the login-OTP screen."""
    page.goto("/login")
    enter_credentials(page, customer)
    if shot:
        shot("login")
    press(page, "ログイン")


def yen(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def balance_on_home(page: Page) -> int:
    page.goto("/home")
    return yen(page.locator(".balance").inner_text())


def summary_value(page: Page, label: str) -> str:
    row = page.locator(".summary > div").filter(
        has=page.locator("dt", has_text=re.compile(f"^{re.escape(label)}$")))
    return row.locator("dd").inner_text().strip()
