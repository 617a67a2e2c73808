"""The terminal UI driven by Textual's pilot with a clock the tests move."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import pytest
from textual.widgets import Digits, Input, Static
from textual.widgets._toast import Toast

from kinko.domain.otp import TotpParameters
from kinko.domain.secrets import Seed
from kinko.domain.serials import format_serial
from kinko_token.app import (
    ACTIVATED_MESSAGE,
    COPIED_MESSAGE,
    WRONG_PIN_MESSAGE,
    ActivationScreen,
    MainScreen,
    MessageScreen,
    PinScreen,
    TokenApp,
)
from kinko_token.client import activate
from kinko_token.tokens import TokenInfo, group_code
from kinko_token.vault import Pin, VaultFile

from .conftest import PIN, T0, FakeClock, FakeServer, MemoryKeyring, new_seed, token_info

pytestmark = pytest.mark.anyio

ARTIFACTS = Path(__file__).parents[2] / "artifacts"
PARAMS = TotpParameters()


def _text(app: TokenApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


def _code(app: TokenApp) -> str:
    return app.screen.query_one("#code", Digits).value


def _expected(seed: Seed, now: float) -> str:
    return group_code(PARAMS.code_at(seed.reveal(), now))


@pytest.fixture
def one_token(keyring_file: VaultFile) -> tuple[TokenInfo, Seed]:
    info, seed = token_info("123456789015"), new_seed()
    keyring_file.create().add(info, seed)
    return info, seed


async def test_the_main_screen_shows_the_code_for_the_clock_and_the_serial_under_it(
    keyring_file: VaultFile, one_token: tuple[TokenInfo, Seed]
) -> None:
    info, seed = one_token
    clock = FakeClock(T0 + 18.2)
    app = TokenApp(keyring_file, clock=clock)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert _code(app) == _expected(seed, clock.now)
        assert len(_code(app)) == 7 and _code(app)[3] == " "  # "123 456"
        assert _text(app, "#serial") == "1234 5678 9015" == info.display_serial
        assert _text(app, "#seconds") == "残り 12 秒 / 12 s left"
        help_line = _text(app, "#help")
        for key in ("c ", "n ", "a ", "q "):
            assert key in help_line


async def test_the_code_rolls_over_to_the_next_one_on_the_30_second_boundary(
    keyring_file: VaultFile, one_token: tuple[TokenInfo, Seed]
) -> None:
    _, seed = one_token
    clock = FakeClock(T0 + 29.6)
    app = TokenApp(keyring_file, clock=clock, tick=0.05)
    async with app.run_test() as pilot:
        await pilot.pause()
        before = _code(app)
        assert before == _expected(seed, T0)
        assert _text(app, "#seconds") == "残り 1 秒 / 1 s left"

        clock.advance(0.5)  # now 0.1 s into the next step
        await pilot.pause(0.2)

        assert _code(app) == _expected(seed, T0 + 30)
        assert _code(app) != before
        assert _text(app, "#seconds") == "残り 30 秒 / 30 s left"

        clock.advance(10)  # within the same step the code stays, the countdown moves
        await pilot.pause(0.2)
        assert _code(app) == _expected(seed, T0 + 30)
        assert _text(app, "#seconds") == "残り 20 秒 / 20 s left"


async def test_the_copy_key_copies_the_code_and_says_so(
    keyring_file: VaultFile, one_token: tuple[TokenInfo, Seed]
) -> None:
    _, seed = one_token
    clock = FakeClock(T0 + 3)
    app = TokenApp(keyring_file, clock=clock)
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == PARAMS.code_at(seed.reveal(), clock.now)  # no space in it
        toasts = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert any(COPIED_MESSAGE in text for text in toasts), toasts


async def test_n_switches_between_the_old_and_the_new_token(
    data_dir: Path, memory_keyring: MemoryKeyring
) -> None:
    file = VaultFile(data_dir, keyring_backend=memory_keyring)
    vault = file.create()
    old, new = token_info(), token_info()
    old_seed, new_seed_ = new_seed(), new_seed()
    vault.add(old, old_seed)
    vault.add(new, new_seed_)
    clock = FakeClock(T0 + 1)
    app = TokenApp(file, clock=clock)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert _text(app, "#serial") == format_serial(new.serial)
        assert _code(app) == _expected(new_seed_, clock.now)
        assert "2/2" in _text(app, "#position")

        await pilot.press("n")
        await pilot.pause()
        assert _text(app, "#serial") == format_serial(old.serial)
        assert _code(app) == _expected(old_seed, clock.now)
        assert "1/2" in _text(app, "#position")
    assert file.summary().current == old.serial  # the choice is kept for next time


async def test_the_pin_prompt_retries_after_a_wrong_pin(
    data_dir: Path, memory_keyring: MemoryKeyring
) -> None:
    file = VaultFile(data_dir, keyring_backend=memory_keyring)
    seed = new_seed()
    file.create(Pin(PIN)).add(token_info(), seed)
    clock = FakeClock(T0 + 7)
    app = TokenApp(file, clock=clock)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PinScreen)

        await pilot.press(*"1357", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        assert isinstance(app.screen, PinScreen)
        assert WRONG_PIN_MESSAGE in _text(app, "#status")
        assert app.screen.query_one("#pin", Input).value == ""

        await pilot.press(*PIN, "enter")
        await pilot.pause(0.5)
        assert isinstance(app.screen, MainScreen)
        assert _code(app) == _expected(seed, clock.now)


async def test_a_damaged_file_shows_the_message_instead_of_crashing(
    keyring_file: VaultFile, one_token: tuple[TokenInfo, Seed]
) -> None:
    keyring_file.path.write_text('{"format": "kinko-token", "version": 1, "tokens": [')
    app = TokenApp(keyring_file, clock=FakeClock())
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        message = _text(app, "#message")
        assert "damaged" in message and str(keyring_file.path) in message
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_first_start_activates_and_shows_what_to_do_next(
    data_dir: Path, memory_keyring: MemoryKeyring, fake_server: FakeServer
) -> None:
    file = VaultFile(data_dir, keyring_backend=memory_keyring)
    clock = FakeClock(T0 + 12)
    app = TokenApp(file, clock=clock,
                   activator=partial(activate, transport=fake_server.transport, clock=clock))
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ActivationScreen)
        assert app.screen.query_one("#server", Input).value == "http://127.0.0.1:8000"

        app.screen.query_one("#pin", Input).value = PIN
        app.screen.query_one("#pin-again", Input).value = PIN
        app.screen.query_one("#server", Input).focus()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)

        assert isinstance(app.screen, MainScreen)
        assert _text(app, "#notice") == ACTIVATED_MESSAGE
        (serial, seed), = fake_server.seeds.items()
        assert _text(app, "#serial") == format_serial(serial)
        assert _code(app) == _expected(seed, clock.now)
    assert file.is_pin_protected()
    assert file.unlock(Pin(PIN)).seed(serial) == seed


async def test_activation_refuses_mismatched_pins_before_calling_the_server(
    data_dir: Path, memory_keyring: MemoryKeyring, fake_server: FakeServer
) -> None:
    file = VaultFile(data_dir, keyring_backend=memory_keyring)
    app = TokenApp(file, clock=FakeClock(),
                   activator=partial(activate, transport=fake_server.transport))
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        app.screen.query_one("#pin", Input).value = PIN
        app.screen.query_one("#pin-again", Input).value = "2469"
        await pilot.click("#activate")
        await pilot.pause()
        assert "PIN" in _text(app, "#status")
    assert fake_server.requests == [] and not file.exists()


async def test_activation_errors_are_shown_and_the_screen_stays(
    data_dir: Path, memory_keyring: MemoryKeyring
) -> None:
    file = VaultFile(data_dir, keyring_backend=memory_keyring)
    app = TokenApp(file, clock=FakeClock(),
                   activator=lambda server: activate(server, timeout=2))
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        server = app.screen.query_one("#server", Input)
        server.value = "http://127.0.0.1:9"
        server.focus()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ActivationScreen)
        assert "cannot reach the server" in _text(app, "#status")
    assert not file.exists()


async def test_a_activates_another_token_beside_the_first(
    keyring_file: VaultFile, one_token: tuple[TokenInfo, Seed], fake_server: FakeServer
) -> None:
    first, _ = one_token
    clock = FakeClock(T0 + 2)
    app = TokenApp(keyring_file, clock=clock,
                   activator=partial(activate, transport=fake_server.transport, clock=clock))
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ActivationScreen)
        assert not app.screen.query("#pin")  # the file already has its protection
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)
        (serial, _), = fake_server.seeds.items()
        assert _text(app, "#serial") == format_serial(serial)
        assert _text(app, "#notice") == ACTIVATED_MESSAGE
    assert [t.serial for t in keyring_file.summary().tokens] == [first.serial, serial]


async def test_save_a_screenshot_of_the_main_screen(
    keyring_file: VaultFile, one_token: tuple[TokenInfo, Seed]
) -> None:
    app = TokenApp(keyring_file, clock=FakeClock(T0 + 18.2))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        svg = app.export_screenshot(title="kinko-token")
    assert svg.startswith("<svg") and "1234" in svg and "9015" in svg
    # Written beside, then renamed: a reader (or a parallel run) never sees half a file.
    ARTIFACTS.mkdir(exist_ok=True)
    partial_file = ARTIFACTS / f".token-app-{os.getpid()}.svg"
    partial_file.write_text(svg, "utf-8")
    partial_file.replace(ARTIFACTS / "token-app.svg")
