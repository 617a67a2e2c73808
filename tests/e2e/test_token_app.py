"""The whole story of issue #4 with real processes: the kinko-token app activates against
a running server, the customer registers its serial and code in 利用開始, logs in with the
app's code, exchanges to a second activated token, and stops."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kinko.domain.lifecycle import TokenState
from kinko.domain.model import TokenOrigin
from kinko.domain.serials import format_serial
from tests.e2e.bank import Bank
from tests.e2e.conftest import VIEWPORTS, LiveServer
from tests.e2e.ib import Screenshots, enter_credentials, expect_step, fill, follow, log_in, press

PIN = "2468"


class TokenApp:
    """``kinko-token`` run as a customer would from a terminal, on its own data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.spent: dict[str, str] = {}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S603 - our own app with fixed arguments
            [sys.executable, "-m", "kinko_token", "--data-dir", str(self.data_dir), *args],
            input=f"{PIN}\n", capture_output=True, text=True, timeout=60, check=False,
            env={"PATH": "/usr/bin:/bin", "PYTHON_KEYRING_BACKEND":
                 "keyring.backends.null.Keyring", "HOME": str(self.data_dir)},
        )
        assert result.returncode == 0, result.stderr
        return result

    def activate(self, server: str) -> str:
        answer = json.loads(self.run("activate", "--server", server, "--pin-stdin",
                                     "--json").stdout)
        return str(answer["serial"])

    def code(self, serial: str) -> str:
        """The code the app shows now; waits for the next one if this one was used."""
        while True:
            shown = json.loads(self.run("code", "--json", "--serial", serial,
                                        "--pin-stdin").stdout)
            if shown["code"] != self.spent.get(serial):
                self.spent[serial] = shown["code"]
                return str(shown["code"])
            time.sleep(shown["seconds_left"] + 0.5)


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], indirect=True, ids=["pc"])
def test_the_token_app_activates_and_carries_a_customer_through_every_flow(
    page: Page, bank: Bank, live_server: LiveServer, tmp_path: Path,
    screenshots: Callable[[str], Screenshots],
) -> None:
    app = TokenApp(tmp_path / "phone")
    customer = bank.customer()
    shot = screenshots("token-app")

    first = app.activate(live_server.url)
    with live_server.kinko.ctx.uow() as uow:
        token = uow.tokens.by_serial(first)
        assert token is not None
        seed = uow.tokens.seed(token).reveal()
    assert token.origin is TokenOrigin.ACTIVATION and token.state is TokenState.UNBOUND
    # The seed is nowhere but sealed in the database: not in the app's file, not in the log.
    for path in [*app.data_dir.rglob("*"), live_server.data_dir / "server.log"]:
        if path.is_file():
            content = path.read_bytes()
            assert seed not in content and seed.hex().encode() not in content

    # 利用開始 with the serial and code the app shows.
    page.goto("/login")
    follow(page, "利用開始")
    enter_credentials(page, customer)
    press(page, "次へ")
    expect_step(page, "②", "シリアル番号・ワンタイムパスワードの入力")
    fill(page, serial=format_serial(first), otp=app.code(first))
    shot("enroll-with-app-code")
    press(page, "次へ")
    page.locator("input[name=login_otp][value=yes]").check()
    fill(page, confirmation_password=customer.confirmation_password)
    press(page, "登録")
    expect_step(page, "④", "完了")

    # Log in with the app's code.
    follow(page, "ログイン画面へ戻る")
    log_in(page, customer)
    fill(page, otp=app.code(first))
    press(page, "ログイン")
    expect(page.locator(".status")).to_have_text("ワンタイムパスワード: 利用中")
    shot("logged-in-with-app-code")

    # 交換 to a second token activated on the "new phone" (the same app, side by side).
    second = app.activate(live_server.url)
    page.goto("/otp/exchange")
    enter_credentials(page, customer)
    press(page, "次へ")
    fill(page, otp=app.code(first))
    press(page, "次へ")
    fill(page, serial=second, otp=app.code(second))
    shot("exchange-with-new-app-token")
    press(page, "登録")
    expect_step(page, "④", "完了")
    with live_server.kinko.ctx.uow() as uow:
        states = {s: uow.tokens.by_serial(s).state for s in (first, second)}  # type: ignore[union-attr]
    assert states == {first: TokenState.REVOKED, second: TokenState.ACTIVE}

    # 利用中止 with the new token.
    page.goto("/otp/stop")
    enter_credentials(page, customer)
    press(page, "次へ")
    press(page, "中止手続きへ進む")
    fill(page, otp=app.code(second), confirmation_password=customer.confirmation_password)
    press(page, "停止")
    expect_step(page, "④", "完了")
    shot("stopped")
    with live_server.kinko.ctx.uow() as uow:
        stopped = uow.tokens.by_serial(second)
    assert stopped is not None and stopped.state is TokenState.REVOKED
