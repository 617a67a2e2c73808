"""End-to-end browser tests: a real ``kinko serve`` process per viewport, driven by Debian's
chromium through Playwright, with the test process reading the same database for set-up.

Never ``playwright install``: the browser is /usr/bin/chromium (``make browser`` installs it).
Without it the tests skip locally and fail in CI (``CI=true``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from kinko.bootstrap import Kinko, build
from kinko.config import Settings
from kinko.services.passwords import Argon2Hasher
from tests.e2e.bank import Bank
from tests.e2e.ib import SCREENSHOTS, Screenshots

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SERVER_START_SECONDS = 30
# Settings the server would otherwise take from the developer's environment instead of the
# temporary data directory.
_PLACE_SETTINGS = ("KINKO_DATA_DIR", "KINKO_DATABASE_URL", "KINKO_KEY_FILE", "KINKO_MASTER_KEY",
                   "KINKO_HOST", "KINKO_PORT")


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    mobile: bool


VIEWPORTS = [Viewport("pc", 1280, 800, mobile=False),
             Viewport("smartphone", 390, 844, mobile=True)]


@dataclass(frozen=True)
class LiveServer:
    url: str
    data_dir: Path
    kinko: Kinko


@pytest.fixture(scope="session", autouse=True)
def chromium() -> Path:
    """Debian's chromium, or a skip (a failure in CI) saying how to get it."""
    if not CHROMIUM.exists():
        reason = (f"{CHROMIUM} is missing: install Debian's chromium (`make test-tools`); "
                  "the browser tests never download one")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    # Per module, not per session: Playwright's sync API keeps an event loop running in
    # this thread while it is open, and later asyncio tests (the token app's) need it gone.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session", params=VIEWPORTS, ids=[v.name for v in VIEWPORTS])
def viewport(request: pytest.FixtureRequest) -> Viewport:
    found: Viewport = request.param
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _kinko(data_dir: Path, env: dict[str, str], log: Path, *args: str) -> None:
    """Run ``kinko ARGS`` as the operator would, its output appended to the server log."""
    with log.open("a") as out:
        done = subprocess.run([sys.executable, "-m", "kinko.cli", *args], env=env,  # noqa: S603 - our own CLI
                              cwd=data_dir, stdout=out, stderr=subprocess.STDOUT, timeout=120,
                              check=False)
    if done.returncode != 0:
        pytest.fail(f"kinko {' '.join(args)} exited with {done.returncode}:\n{log.read_text()}")


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"kinko serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - our own http URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"kinko serve did not become healthy in {SERVER_START_SECONDS}s:\n"
                f"{log.read_text()}")


@contextmanager
def serving(tmp_path_factory: pytest.TempPathFactory, name: str,
            settings: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """``kinko db upgrade``, ``kinko demo`` and ``kinko serve`` as real processes on a fresh
    data directory (``settings``: extra KINKO_* variables, e.g. a bank policy); the test
    process opens the same database and key file."""
    data_dir = tmp_path_factory.mktemp(f"kinko-{name}")
    log = data_dir / "server.log"
    env = {k: v for k, v in os.environ.items() if k not in _PLACE_SETTINGS}
    env["KINKO_DATA_DIR"] = str(data_dir)
    # Every browser of the suite comes from 127.0.0.1 within minutes: the per-address login
    # and activation limits (30 and 10 in a few minutes, for a bank's real traffic) would
    # turn later tests away with 429s. The throttles have their own tests (tests/web,
    # tests/api); here they are raised, never switched off.
    env |= {"KINKO_LOGIN_LIMIT_ADDRESS_ATTEMPTS": "100000",
            "KINKO_LOGIN_LIMIT_CONTRACT_ATTEMPTS": "1000",
            "KINKO_ACTIVATION_LIMIT_ATTEMPTS": "1000"}
    env |= settings or {}
    _kinko(data_dir, env, log, "db", "upgrade")
    _kinko(data_dir, env, log, "demo")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("a") as out:
        server = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "kinko.cli", "serve", "--port", str(port)],
            env=env, cwd=data_dir, stdout=out, stderr=subprocess.STDOUT)
    kinko: Kinko | None = None
    try:
        _wait_until_healthy(url, server, log)
        # The server hashes with production argon2 parameters; our cheaper hashes still
        # verify there (argon2 hashes carry their parameters).
        kinko = build(Settings(_env_file=None, data_dir=data_dir, database_url="",
                               key_file=None, master_key=None),
                      hasher=Argon2Hasher.fast_for_tests())
        yield LiveServer(url, data_dir, kinko)
    finally:
        if kinko is not None:
            kinko.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def live_server(viewport: Viewport, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[LiveServer]:
    """One kinko (demo data, the default bank policy) per viewport for the whole session."""
    with serving(tmp_path_factory, viewport.name) as server:
        yield server


@pytest.fixture
def bank(live_server: LiveServer) -> Bank:
    return Bank(live_server.kinko)


_OUTCOMES = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None],
                              ) -> Iterator[None]:
    """Remember each phase's outcome on the test, so ``page`` can photograph a failure."""
    report = yield
    item.stash.setdefault(_OUTCOMES, {})[report.when] = report
    return report


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, viewport: Viewport,
         request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) at the viewport's size, in Japanese; on a
    failure the last screen is kept as ``FAILED-<test>.png`` (and ``.html``) beside the
    flow screenshots."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": viewport.width, "height": viewport.height},
        is_mobile=viewport.mobile, has_touch=viewport.mobile, locale="ja-JP",
        timezone_id="Asia/Tokyo",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    call = request.node.stash.get(_OUTCOMES, {}).get("call")
    stem = SCREENSHOTS / viewport.name / f"FAILED-{request.node.originalname}"
    if call is not None and call.failed:
        stem.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=stem.with_suffix(".png"), full_page=True)
        stem.with_suffix(".html").write_text(f"<!-- {page.url} -->\n{page.content()}")
    elif call is not None:  # passed now: what an earlier failure left is out of date
        stem.with_suffix(".png").unlink(missing_ok=True)
        stem.with_suffix(".html").unlink(missing_ok=True)
    context.close()


@pytest.fixture
def screenshots(page: Page, viewport: Viewport) -> Callable[[str], Screenshots]:
    """``shot = screenshots("enroll")``, then ``shot("serial-and-otp")`` at each step."""
    return lambda flow: Screenshots(page, viewport.name, flow)

