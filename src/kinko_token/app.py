"""The kinko-token terminal UI (Textual): the one-time password in large digits with its
countdown and the serial under it, plus the activation, PIN and error screens.

The clock and the token file are injected, so tests drive the app with a clock they move.
Nothing here talks to the network except activation, which goes through ``client.activate``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Digits, Input, ProgressBar, Static

from kinko_token.client import ActivatedToken, activate, normalize_server_url
from kinko_token.errors import InvalidPin, TokenAppError, VaultError, WrongPin
from kinko_token.tokens import ACTIVATED_MESSAGE, DEFAULT_SERVER, Reading, read_code
from kinko_token.vault import Pin, Vault, VaultFile

__all__ = [
    "ACTIVATED_MESSAGE",
    "COPIED_MESSAGE",
    "WRONG_PIN_MESSAGE",
    "ActivationScreen",
    "MainScreen",
    "MessageScreen",
    "PinScreen",
    "TokenApp",
]

Clock = Callable[[], float]
Activator = Callable[[str], ActivatedToken]

WRONG_PIN_MESSAGE = "PINが正しくありません"
COPIED_MESSAGE = "コピーしました"
PIN_MISMATCH_MESSAGE = "PINが一致しません / the two PINs differ"
CONTACTING_MESSAGE = "サーバーに接続しています… / contacting the server…"

TICK_SECONDS = 0.25
# Timers may fire a hair early; waking this much after the boundary makes sure the clock has
# passed it, so the next code appears on the boundary rather than a tick later.
_BOUNDARY_SLACK = 0.005

_MAIN_HELP = "c コピー/copy   n 切替/next token   a 追加/activate   q 終了/quit"


class MainScreen(Screen[None]):
    """The code of the current token, its countdown and its serial; works offline."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "コピー / Copy"),
        Binding("n", "next_token", "次のトークン / Next token"),
        Binding("a", "activate", "追加 / Activate another"),
        Binding("q", "app.quit", "終了 / Quit"),
    ]

    def __init__(
        self,
        vault: Vault,
        *,
        clock: Clock,
        activator: Activator,
        tick: float = TICK_SECONDS,
        notice: str = "",
    ) -> None:
        super().__init__()
        self.vault = vault
        self._clock = clock
        self._activator = activator
        self._tick_seconds = tick
        self._notice = notice
        self._shown: tuple[str, int] | None = None  # (serial, step) whose code is on screen

    def compose(self) -> ComposeResult:
        with Vertical(id="card"):
            yield Static("ワンタイムパスワード / One-time password", classes="caption")
            with Center():
                yield Digits("", id="code")
            with Center():
                yield ProgressBar(show_eta=False, show_percentage=False, id="countdown")
            yield Static("", id="seconds", classes="caption")
            yield Static("シリアル番号 / Serial number", classes="caption gap")
            yield Static("", id="serial")
            yield Static("", id="position", classes="caption")
        yield Static(self._notice, id="notice", markup=False)
        yield Static(_MAIN_HELP, id="help", markup=False)

    def on_mount(self) -> None:
        self._tick()

    def _tick(self) -> None:
        """Show the code, then wake at the next quarter second or step boundary, if sooner."""
        reading = self.show_code()
        delay = self._tick_seconds
        if reading is not None:
            delay = min(delay, reading.seconds_left + _BOUNDARY_SLACK)
        self.set_timer(delay, self._tick)

    def show_code(self) -> Reading | None:
        """Bring the screen up to date with the clock; the reading shown, if any token."""
        token = self.vault.current
        if token is None:
            return None
        reading = read_code(token.parameters, self.vault.seed(token.serial), self._clock())
        if self._shown != (token.serial, reading.step):
            self._shown = (token.serial, reading.step)
            self.query_one("#code", Digits).update(reading.grouped)
            self.query_one("#serial", Static).update(token.display_serial)
            count = len(self.vault.tokens)
            position = [info.serial for info in self.vault.tokens].index(token.serial) + 1
            self.query_one("#position", Static).update(
                f"トークン {position}/{count} / token {position} of {count}" if count > 1 else ""
            )
        self.query_one("#countdown", ProgressBar).update(
            total=reading.period, progress=reading.seconds_left
        )
        left = reading.whole_seconds_left
        self.query_one("#seconds", Static).update(f"残り {left} 秒 / {left} s left")
        return reading

    def set_notice(self, text: str) -> None:
        self._notice = text
        self.query_one("#notice", Static).update(text)

    def action_copy(self) -> None:
        reading = self.show_code()
        if reading is None:
            return
        self.app.copy_to_clipboard(reading.code)
        self.notify(f"{COPIED_MESSAGE} / Copied", timeout=3)

    def action_next_token(self) -> None:
        serial = self.vault.next_serial()
        if serial is None:
            self.notify("この端末のトークンは1つだけです / this device has only one token")
            return
        try:
            self.vault.use(serial)
        except TokenAppError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.set_notice("")
        self.show_code()
        shown = self.vault.token(serial).display_serial
        self.notify(f"{shown} に切り替えました / switched to {shown}", timeout=3)

    def action_activate(self) -> None:
        screen = ActivationScreen(
            self.vault.file,
            vault=self.vault,
            activator=self._activator,
            server=self.vault.file.default_server() or DEFAULT_SERVER,
        )
        self.app.push_screen(screen, self._activated)

    def _activated(self, vault: Vault | None) -> None:
        if vault is not None:
            self.set_notice(ACTIVATED_MESSAGE)
            self.show_code()


class ActivationScreen(Screen[Vault]):
    """Server URL (and, for a new token file, the PIN), then activation over the network.

    Dismissed with the vault holding the new token as current; with None when cancelled.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "戻る / Back"),
    ]

    def __init__(
        self,
        file: VaultFile,
        *,
        vault: Vault | None,
        activator: Activator,
        server: str = DEFAULT_SERVER,
    ) -> None:
        super().__init__()
        self._file = file
        self._vault = vault
        self._activator = activator
        self._server = server
        self._pin_required = vault is None and not file.keyring_usable()
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="card", classes="form"):
            yield Static("トークンの有効化 / Activate a token", classes="title")
            yield Static("サーバーのURL / Server URL", classes="label")
            yield Input(value=self._server, id="server")
            hint = ""
            if self._vault is None:
                need = "必須 / required" if self._pin_required else "任意 / optional"
                yield Static(f"PIN (4〜12桁の数字 / 4 to 12 digits) {need}", classes="label gap")
                yield Input(password=True, max_length=12, id="pin")
                yield Static("PIN (確認 / again)", classes="label")
                yield Input(password=True, max_length=12, id="pin-again")
                hint = (
                    "この端末ではキーリングが使えないため、PINが必要です / "
                    "no OS keyring here, so a PIN is required"
                    if self._pin_required
                    else "PINを設定すると、PINでトークンを保護します / a PIN, if set, "
                    "protects the tokens instead of the OS keyring"
                )
            yield Button("有効化 / Activate", id="activate", variant="primary", compact=True)
            yield Static(hint, id="status", markup=False)
        back = "終了/quit" if self._vault is None or not self._vault.tokens else "戻る/back"
        yield Static(f"Enter 有効化/activate   Esc {back}", id="help", markup=False)

    def _status(self, text: str, *, problem: bool = True) -> None:
        status = self.query_one("#status", Static)
        status.update(text)
        status.set_class(problem, "problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._start()

    def _start(self) -> None:
        if self._busy:
            return
        server = self.query_one("#server", Input).value
        try:
            normalize_server_url(server)
            pin = self._chosen_pin()
        except TokenAppError as error:
            self._status(str(error))
            return
        self._busy = True  # set before the worker starts, so a second Enter is ignored
        self.query_one("#activate", Button).disabled = True
        self._status(CONTACTING_MESSAGE, problem=False)
        self.run_worker(self._activate(server, pin))

    def _chosen_pin(self) -> Pin | None:
        if self._vault is not None:
            return None
        text = self.query_one("#pin", Input).value
        if not text and not self._pin_required:
            return None
        pin = Pin.parse(text)
        try:
            same = Pin.parse(self.query_one("#pin-again", Input).value) == pin
        except InvalidPin:
            same = False
        if not same:
            raise InvalidPin(PIN_MISMATCH_MESSAGE)
        return pin

    async def _activate(self, server: str, pin: Pin | None) -> None:
        button = self.query_one("#activate", Button)
        try:
            activated = await asyncio.to_thread(self._activator, server)
            vault = await asyncio.to_thread(self._store, activated, pin)
        except TokenAppError as error:
            self._status(str(error))
            return
        finally:
            self._busy = False
            button.disabled = False
        self.dismiss(vault)

    def _store(self, activated: ActivatedToken, pin: Pin | None) -> Vault:
        vault = self._vault if self._vault is not None else self._file.create(pin)
        vault.add(activated.info, activated.seed)
        return vault

    def action_cancel(self) -> None:
        if self._vault is None or not self._vault.tokens:
            self.app.exit()
        elif not self._busy:  # while activating, the worker dismisses the screen itself
            self.dismiss(None)


class PinScreen(Screen[Vault]):
    """Asks for the PIN until it opens the token file; dismissed with the opened vault."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.quit", "終了 / Quit")]

    def __init__(self, file: VaultFile) -> None:
        super().__init__()
        self._file = file
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="card"):
            yield Static("PINを入力してください / Enter your PIN", classes="title")
            yield Input(password=True, max_length=12, id="pin")
            yield Static("", id="status", classes="problem", markup=False)
        yield Static("Enter 確定/unlock   Esc 終了/quit", id="help", markup=False)

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._busy:
            return
        event.input.value = ""
        status = self.query_one("#status", Static)
        self._busy = True
        try:
            pin = Pin.parse(event.value)
            vault = await asyncio.to_thread(self._file.unlock, pin)
        except (WrongPin, InvalidPin):
            status.update(f"{WRONG_PIN_MESSAGE} / the PIN is not correct")
            return
        except VaultError as error:
            self.app.switch_screen(MessageScreen(str(error)))
            return
        finally:
            self._busy = False
        self.dismiss(vault)


class MessageScreen(Screen[None]):
    """A problem the app cannot go on from (a damaged token file, ...), said plainly."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "終了 / Quit"),
        Binding("escape", "app.quit", "終了 / Quit"),
    ]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="card", classes="error"):
            yield Static("トークンを表示できません / Cannot show the token", classes="title")
            yield Static(self.message, id="message", markup=False)
            yield Static(
                "解決しない場合は当金庫にご連絡ください / if this persists, contact the bank",
                classes="caption gap",
            )
        yield Static("q 終了/quit", id="help", markup=False)


class TokenApp(App[None]):
    """The software token: starts on the PIN prompt, the activation screen (no token yet),
    the code, or a message saying why it cannot."""

    TITLE = "kinko-token"
    CSS = """
    Screen { align: center middle; }
    #card {
        width: 72; height: auto; padding: 1 2;
        border: round $primary;
    }
    #card.error { border: round $error; }
    #card > Static { width: 100%; text-align: center; }
    #card.form { padding: 0 2; }
    #card > .label { text-align: left; }
    #card > .label.gap { margin-top: 1; }
    #card > .title { text-style: bold; margin-bottom: 1; }
    #card > .caption { color: $text-muted; }
    #card > .gap { margin-top: 1; }
    #code { width: auto; margin: 1 0; }
    #countdown Bar { width: 44; }
    #serial { text-style: bold; }
    #card > Input { width: 100%; }
    #card > Button { margin-top: 1; }
    #status { margin-top: 1; color: $text-muted; }
    #status.problem { color: $warning; }
    #card > #message { text-align: left; }
    #notice { width: 72; height: auto; margin-top: 1; text-align: center; color: $success; }
    #help {
        dock: bottom; width: 100%; height: 1; padding: 0 1;
        background: $panel; color: $text;
    }
    """

    def __init__(
        self,
        vault_file: VaultFile,
        *,
        clock: Clock = time.time,
        activator: Activator = activate,
        tick: float = TICK_SECONDS,
    ) -> None:
        super().__init__()
        self.vault_file = vault_file
        self._clock = clock
        self._activator = activator
        self._tick = tick

    def on_mount(self) -> None:
        try:
            if not self.vault_file.exists():
                self._push_activation(None)
            elif self.vault_file.is_pin_protected():
                self.push_screen(PinScreen(self.vault_file), self._unlocked)
            else:
                self._unlocked(self.vault_file.unlock())
        except VaultError as error:
            self.push_screen(MessageScreen(str(error)))

    def _unlocked(self, vault: Vault | None) -> None:
        if vault is None:
            self.exit()
        elif vault.tokens:
            self.push_screen(self._main(vault))
        else:
            self._push_activation(vault)

    def _push_activation(self, vault: Vault | None) -> None:
        screen = ActivationScreen(self.vault_file, vault=vault, activator=self._activator,
                                  server=self.vault_file.default_server() or DEFAULT_SERVER)
        self.push_screen(screen, self._activated)

    def _activated(self, vault: Vault | None) -> None:
        if vault is None:
            self.exit()
        else:
            self.push_screen(self._main(vault, notice=ACTIVATED_MESSAGE))

    def _main(self, vault: Vault, *, notice: str = "") -> MainScreen:
        return MainScreen(
            vault, clock=self._clock, activator=self._activator, tick=self._tick, notice=notice
        )
