"""The customer's token as a phone web app (/app), at phone size with touch: installable,
activated per docs/activation.md, its codes accepted for 利用開始, the login OTP and a
transfer, shown offline, its key never readable, and its errors explained in Japanese.

Every test runs on the session's smartphone server. Real activations are few (the server
allows 10 per address in 10 minutes); the error screens get their answers from a route.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from kinko.banking.rules import OUR_BANK_CODE
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import TokenOrigin
from kinko.domain.serials import format_serial
from kinko.web.i18n import HELP_DESK
from tests.api.test_activation import documented
from tests.e2e.bank import Bank
from tests.e2e.conftest import VIEWPORTS, LiveServer
from tests.e2e.ib import Screenshots, enter_credentials, fill, follow, log_in, press
from tests.e2e.test_payments import expect_receipt, fill_transfer
from tests.vectors import load_vectors

pytestmark = pytest.mark.parametrize("viewport", [VIEWPORTS[1]], indirect=True,
                                     ids=["smartphone"])
assert VIEWPORTS[1].width == 390 and VIEWPORTS[1].height == 844 and VIEWPORTS[1].mobile

PIN = "2468"
#: How long a test may wait for the app to show the next step's code.
NEXT_CODE_SECONDS = 40
_SIX_DIGITS = re.compile(r"^\d{6}$")
#: How the browser reports what the page's CSP (or Trusted Types) refused.
_REFUSED = re.compile(r"Content Security Policy|Trusted Type", re.IGNORECASE)
ACTIVATION_MD = Path(__file__).resolve().parents[2] / "docs" / "activation.md"

#: The stored tokens as a script sees them, and what WebCrypto lets it do with each key.
READ_STORED_TOKENS = """async () => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open("kinko-token");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const rows = await new Promise((resolve, reject) => {
    const all = db.transaction("tokens").objectStore("tokens").getAll();
    all.onsuccess = () => resolve(all.result);
    all.onerror = () => reject(all.error);
  });
  db.close();
  const wrapping = await crypto.subtle.generateKey({name: "AES-KW", length: 256}, false,
                                                   ["wrapKey"]);
  const found = [];
  for (const row of rows) {
    const key = row.key;
    const attempts = {};
    for (const format of ["raw", "jwk", "pkcs8"]) {
      try { await crypto.subtle.exportKey(format, key); attempts[format] = "exported"; }
      catch (error) { attempts[format] = error.name; }
    }
    try { await crypto.subtle.wrapKey("raw", key, wrapping, "AES-KW"); attempts.wrap = "wrapped"; }
    catch (error) { attempts.wrap = error.name; }
    found.push({serial: row.serial, name: row.name, fields: Object.keys(row).sort(),
                implementation: row.implementation, type: key.type,
                extractable: key.extractable, algorithm: key.algorithm.name,
                hash: key.algorithm.hash.name, bits: key.algorithm.length,
                usages: key.usages, attempts});
  }
  return found;
}"""

#: Codes from the app's own TOTP module with a raw test key, and its activation module run
#: on docs/activation.md's fixed keys through WebCrypto and through the vendored fallback.
#: Only the test imports keys this way; the app itself never sees key bytes.
APP_MODULES_ON_KNOWN_KEYS = """async ({rfc, doc}) => {
  const activation = await import("/app/activation.js");
  const totp = await import("/app/totp.js");
  const hex = (text) => Uint8Array.from(text.match(/../g), (pair) => parseInt(pair, 16));
  const rfcCodes = [];
  for (const value of rfc.values) {
    const key = await crypto.subtle.importKey("raw", hex(rfc.secrets[value.algorithm]),
      {name: "HMAC", hash: activation.HASHES[value.algorithm]}, false, ["sign"]);
    rfcCodes.push((await totp.totp(key, {digits: rfc.digits, period: rfc.period},
                                   value.unix_time)).code);
  }
  const pkcs8 = new Uint8Array([...hex("302e020100300506032b656e04220420"),
                                ...hex(doc.client_private_key)]);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, {name: "X25519"}, false,
                                                   ["deriveKey"]);
  const offer = {serial: doc.serial, algorithm: "SHA1",
                 serverPublicKey: activation.fromB64url(doc.server_public_b64, 32, "key"),
                 salt: activation.fromB64url(doc.salt_b64, 16, "salt")};
  const derived = {};
  const agreements = {webcrypto: await activation.webCryptoAgreement(privateKey),
                      fallback: await activation.fallbackAgreement(hex(doc.client_private_key))};
  for (const [name, agreement] of Object.entries(agreements)) {
    const key = await activation.deriveTokenKey(agreement, offer);
    const codes = [];
    for (const time of doc.times) {
      codes.push((await totp.totp(key, {digits: 6, period: 30}, time)).code);
    }
    derived[name] = {codes, extractable: key.extractable,
                     publicKey: agreement.publicKey && activation.b64url(agreement.publicKey)};
  }
  const lowOrder = {};
  for (const [name, agreement] of Object.entries({
      webcrypto: await activation.webCryptoAgreement(privateKey),
      fallback: await activation.fallbackAgreement(hex(doc.client_private_key))})) {
    try {
      await activation.deriveTokenKey(agreement, {...offer, serverPublicKey: new Uint8Array(32)});
      lowOrder[name] = "derived";
    } catch (error) { lowOrder[name] = error.kind; }
  }
  return {rfcCodes, derived, lowOrder};
}"""

#: What a phone's WebCrypto without X25519 (Safari before 17) answers.
NO_X25519 = """(() => {
  const generateKey = SubtleCrypto.prototype.generateKey;
  SubtleCrypto.prototype.generateKey = function (algorithm, ...rest) {
    const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
    if (String(name).toUpperCase() === "X25519") {
      return Promise.reject(new DOMException("Unrecognized name", "NotSupportedError"));
    }
    return generateKey.call(this, algorithm, ...rest);
  };
})();"""


class PhoneApp:
    """What a customer does in the app: open it, issue tokens, read their codes."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self) -> None:
        self.page.goto("/app")
        expect(self.page.locator("main .card").first).to_be_visible()

    def card(self, name: str) -> Locator:
        return self.page.locator(".token").filter(
            has=self.page.locator(".name", has_text=name))

    def issue(self, name: str) -> str:
        """Press 「トークンを発行する」 with ``name``; the serial the app then shows."""
        self.page.locator("#token-name").fill(name)
        self.page.get_by_role("button", name="トークンを発行する").click()
        card = self.card(name)
        expect(card.locator(".code")).to_have_attribute("data-code", _SIX_DIGITS)
        return self.serial(name)

    def serial(self, name: str) -> str:
        shown = self.card(name).locator(".serial .value").inner_text()
        return shown.replace(" ", "")

    def code(self, name: str) -> str:
        """The code as the customer reads it: the large digits on the card."""
        element = self.card(name).locator(".code")
        expect(element).to_have_attribute("data-code", _SIX_DIGITS)
        return "".join(ch for ch in element.inner_text() if ch.isdigit())

    def next_code(self, name: str, used: set[str]) -> str:
        """A code not used yet: the one shown now, or the next one once the step changes."""
        deadline = time.monotonic() + NEXT_CODE_SECONDS
        while (code := self.code(name)) in used:
            assert time.monotonic() < deadline, "the app did not show a new code"
            self.page.wait_for_timeout(500)
        used.add(code)
        return code

    def wait_for_worker(self) -> None:
        """Until the service worker has installed the app's files and controls the page."""
        scope = self.page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
        assert scope == self.page.url.split("/app")[0] + "/app"
        self.page.wait_for_function("navigator.serviceWorker.controller !== null")


def server_codes(live_server: LiveServer, serial: str) -> set[str]:
    """The codes the server computes from its own sealed seed around now."""
    with live_server.kinko.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
        assert token is not None
        seed = uow.tokens.seed(token).reveal()
    now = time.time()
    return {token.params.code_at(seed, now + delta) for delta in (-2.0, 0.0, 2.0)}


def stored_tokens(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(READ_STORED_TOKENS)
    return found


@pytest.fixture
def app(page: Page) -> Iterator[PhoneApp]:
    """The app in the test's page; fails the test on any script error or CSP refusal."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and _REFUSED.search(message.text) else None)
    yield PhoneApp(page)
    assert problems == []


def test_the_app_installs_from_the_bank_and_then_opens_offline(
    page: Page, app: PhoneApp, live_server: LiveServer,
    screenshots: Callable[[str], Screenshots],
) -> None:
    shot = screenshots("phone-app-install")
    app.open()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("ワンタイムパスワードアプリ")
    expect(page.locator("main")).to_contain_text("6桁の数字で、30秒ごとに変わります")
    expect(page.locator("main")).to_contain_text("「利用開始」")
    expect(page.locator("main")).to_contain_text("「ホーム画面に追加」")
    expect(page.locator("footer")).to_contain_text(HELP_DESK)
    shot("first-screen")

    # What "ホーム画面に追加" needs: a manifest with icons, and a service worker for /app.
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href == "/app/manifest.webmanifest"
    manifest = page.request.get(href)
    assert manifest.headers["content-type"] == "application/manifest+json"
    document = manifest.json()
    assert document["start_url"] == "/app" and document["display"] == "standalone"
    for icon in document["icons"]:
        served = page.request.get(icon["src"])
        assert served.ok and served.headers["content-type"] == icon["type"]
    app.wait_for_worker()
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == \
        f"{live_server.url}/app/sw.js"

    # Without a network the installed app still opens.
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("h1")).to_have_text("ワンタイムパスワードアプリ")
    shot("offline-first-screen")
    page.context.set_offline(False)

    # The same English switch as the internet banking's, and back.
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("One-time password app")
    expect(page.get_by_role("button", name="Issue a token")).to_be_visible()
    shot("first-screen-english")
    page.get_by_role("link", name="日本語").click()
    expect(page.locator("h1")).to_have_text("ワンタイムパスワードアプリ")


def test_a_customer_with_only_a_phone_activates_then_enrolls_logs_in_and_transfers(
    page: Page, app: PhoneApp, bank: Bank, live_server: LiveServer,
    screenshots: Callable[[str], Screenshots],
) -> None:
    customer = bank.customer()
    payee = bank.customer()
    shot = screenshots("phone-app")
    app.open()
    serial = app.issue("本人")
    expect(page.locator(".notice")).to_contain_text("トークン「本人」を発行しました。")
    shot("activated")
    with live_server.kinko.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
    assert token is not None
    assert token.state is TokenState.UNBOUND and token.origin is TokenOrigin.ACTIVATION
    assert app.code("本人") in server_codes(live_server, serial)
    expect(app.card("本人").locator(".serial .value")).to_have_text(format_serial(serial))

    # Copy puts the code on the clipboard, for pasting into the bank's screen.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    app.card("本人").get_by_role("button", name="コピー").click()
    expect(app.card("本人").locator(".copied")).to_have_text("コピーしました")
    assert page.evaluate("navigator.clipboard.readText()") in server_codes(live_server, serial)

    # 利用開始 in another tab of the phone's browser, with the serial and code the app shows.
    used: set[str] = set()
    ib = page.context.new_page()
    ib_shot = Screenshots(ib, "smartphone", "phone-app-ib")
    ib.goto("/login")
    follow(ib, "利用開始")
    enter_credentials(ib, customer)
    press(ib, "次へ")
    expect(ib.locator(".phone-app a[href='/app']")).to_be_visible()
    expect(ib.locator(".phone-app img.qr")).to_have_attribute("src", "/app/qr.svg")
    fill(ib, serial=app.serial("本人"), otp=app.next_code("本人", used))
    ib_shot("enroll-with-app-code")
    press(ib, "次へ")
    ib.locator("input[name=login_otp][value=yes]").check()
    fill(ib, confirmation_password=customer.confirmation_password)
    press(ib, "登録")
    expect(ib.locator(".notice")).to_have_text("ワンタイムパスワードの利用を開始しました。")
    ib_shot("enrolled")
    with live_server.kinko.ctx.uow() as uow:
        bound = uow.tokens.by_serial(serial)
    assert bound is not None and bound.state is TokenState.ACTIVE

    # The login OTP: the app's next code.
    follow(ib, "ログイン画面へ戻る")
    log_in(ib, customer)
    assert ib.url.endswith("/login/otp")
    fill(ib, otp=app.next_code("本人", used))
    press(ib, "ログイン")
    assert ib.url.endswith("/home")
    ib_shot("logged-in-with-app-code")

    # A transfer, confirmed with the code after that.
    fill_transfer(ib, bank_code=OUR_BANK_CODE, account_number=payee.account.account_number,
                  kana="シケン　タロウ", amount="3,000")
    press(ib, "次へ")
    expect(ib.locator("h1")).to_have_text("振込内容の確認")
    fill(ib, otp=app.next_code("本人", used))
    ib_shot("transfer-with-app-code")
    press(ib, "実行")
    expect_receipt(ib, "T", "お振込を受け付けました。")
    ib_shot("transfer-receipt")
    assert bank.balance(payee.account) == payee.account.balance + 3_000
    shot("codes-used")


def test_codes_show_offline_and_the_key_never_leaves_webcrypto(
    page: Page, app: PhoneApp, live_server: LiveServer,
    screenshots: Callable[[str], Screenshots],
) -> None:
    shot = screenshots("phone-app-offline")
    app.open()
    serial = app.issue("本人")
    app.wait_for_worker()

    page.context.set_offline(True)
    page.reload()
    assert app.code("本人") in server_codes(live_server, serial)
    shot("offline-code")

    # The seed is a non-extractable HMAC key: a script (even an injected one) can sign with
    # it but never read it, export it or wrap it. Nothing else stored is secret.
    [stored] = stored_tokens(page)
    assert stored["serial"] == serial and stored["implementation"] == "webcrypto"
    assert stored["fields"] == ["activatedAt", "algorithm", "digits", "expiresAt",
                                "implementation", "key", "name", "period", "serial"]
    assert (stored["type"], stored["extractable"], stored["algorithm"], stored["hash"],
            stored["bits"], stored["usages"]) == ("secret", False, "HMAC", "SHA-1", 160,
                                                  ["sign"])
    assert stored["attempts"] == {"raw": "InvalidAccessError", "jwk": "InvalidAccessError",
                                  "pkcs8": "InvalidAccessError", "wrap": "InvalidAccessError"}

    # Storage cleared by the browser: the token is gone, and the app says to call the bank.
    page.evaluate("""() => new Promise((resolve, reject) => {
        const gone = indexedDB.deleteDatabase("kinko-token");
        gone.onsuccess = resolve; gone.onerror = reject; gone.onblocked = resolve;
    })""")
    page.reload()
    alert = page.locator(".gone")
    expect(alert.locator("h2")).to_have_text("トークンが見つかりません")
    expect(alert).to_contain_text("元に戻せません")
    expect(alert).to_contain_text("当金庫までお電話ください")
    expect(alert).to_contain_text(HELP_DESK)
    shot("token-gone")
    page.context.set_offline(False)


def test_the_apps_codes_are_rfc_6238_and_its_activation_derives_the_documented_seed(
    page: Page, app: PhoneApp,
) -> None:
    app.open()
    rfc = load_vectors("rfc6238.json")
    doc = documented()
    worked = [(int(t), code) for t, code in re.findall(
        r"unix_time=(\d+)\s+step=\d+\s+code=(\d{6})", ACTIVATION_MD.read_text(encoding="utf-8"))]
    assert len(worked) >= 6
    result = page.evaluate(APP_MODULES_ON_KNOWN_KEYS, {
        "rfc": {"values": rfc["values"], "secrets": rfc["secrets_hex"],
                "digits": rfc["digits"], "period": rfc["period"]},
        "doc": {**doc, "times": [t for t, _ in worked]},
    })
    assert result["rfcCodes"] == [value["otp"] for value in rfc["values"]]
    for name in ("webcrypto", "fallback"):
        assert result["derived"][name]["codes"] == [code for _, code in worked], name
        assert result["derived"][name]["extractable"] is False
    assert result["derived"]["fallback"]["publicKey"] == doc["client_public_b64"]
    # A server key of low order (the all-zero point) is refused by both, as the spec says.
    assert result["lowOrder"] == {"webcrypto": "malformed", "fallback": "malformed"}


def test_without_x25519_in_webcrypto_the_vendored_fallback_activates(
    page: Page, app: PhoneApp, live_server: LiveServer,
) -> None:
    page.context.add_init_script(NO_X25519)
    fallback_loaded: list[str] = []
    page.on("request", lambda request: fallback_loaded.append(request.url)
            if "x25519-fallback" in request.url else None)
    app.open()
    serial = app.issue("古いiPhone")
    assert fallback_loaded, "the vendored X25519 was not loaded"
    assert app.code("古いiPhone") in server_codes(live_server, serial)
    [stored] = stored_tokens(page)
    assert stored["implementation"] == "fallback" and stored["extractable"] is False


def test_several_named_tokens_and_removal_only_after_confirmation(
    page: Page, app: PhoneApp, screenshots: Callable[[str], Screenshots],
) -> None:
    shot = screenshots("phone-app-tokens")
    app.open()
    mine = app.issue("本人")
    page.get_by_role("button", name="トークンを追加").click()
    expect(page.locator(".add h2")).to_have_text("トークンの追加")
    family = app.issue("家族")
    assert mine != family
    expect(page.locator(".token .name")).to_have_text(["本人", "家族"])
    shot("two-tokens")

    # Remove asks first; キャンセル keeps the token.
    app.card("家族").get_by_role("button", name="削除", exact=True).click()
    confirm = app.card("家族").locator(".confirm")
    expect(confirm).to_contain_text("トークン「家族」を削除しますか?")
    expect(confirm).to_contain_text("先に「利用中止」または「交換」")
    shot("confirm-removal")
    confirm.get_by_role("button", name="キャンセル").click()
    expect(page.locator(".token")).to_have_count(2)

    app.card("家族").get_by_role("button", name="削除", exact=True).click()
    app.card("家族").get_by_role("button", name="削除する").click()
    expect(page.locator(".notice")).to_have_text("トークン「家族」を削除しました。")
    expect(page.locator(".token .name")).to_have_text(["本人"])
    page.reload()
    expect(page.locator(".token .name")).to_have_text(["本人"])
    assert [t["serial"] for t in stored_tokens(page)] == [mine]

    # Removing the last token on purpose is not a lost token: the first screen, no alarm.
    app.card("本人").get_by_role("button", name="削除", exact=True).click()
    app.card("本人").get_by_role("button", name="削除する").click()
    expect(page.locator("h1")).to_have_text("ワンタイムパスワードアプリ")
    expect(page.locator(".gone")).to_have_count(0)


def test_the_optional_pin_is_asked_before_any_code_is_shown(
    page: Page, app: PhoneApp, screenshots: Callable[[str], Screenshots],
) -> None:
    shot = screenshots("phone-app-pin")
    app.open()
    app.issue("本人")
    settings = page.locator(".settings")
    settings.locator("#pin-new").fill(PIN)
    settings.locator("#pin-again").fill("1357")
    settings.get_by_role("button", name="設定する").click()
    expect(settings.locator(".error")).to_have_text("確認のために入力した暗証番号が一致しません。")
    settings.locator("#pin-new").fill(PIN)
    settings.locator("#pin-again").fill(PIN)
    settings.get_by_role("button", name="設定する").click()
    expect(settings.locator(".notice")).to_have_text("暗証番号を設定しました。")

    page.reload()
    expect(page.locator("h1")).to_have_text("暗証番号の入力")
    expect(page.locator(".token")).to_have_count(0)
    page.locator("#pin").fill("1111")
    page.get_by_role("button", name="表示する").click()
    expect(page.locator(".error")).to_have_text("暗証番号が正しくありません。")
    expect(page.locator(".token")).to_have_count(0)
    shot("wrong-pin")
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="表示する").click()
    expect(app.card("本人").locator(".code")).to_have_attribute("data-code", _SIX_DIGITS)
    shot("unlocked")

    # The lock can be turned off with the PIN.
    settings.locator("#pin-current").fill(PIN)
    settings.get_by_role("button", name="ロックを解除する").click()
    expect(settings.locator(".notice")).to_have_text("暗証番号のロックを解除しました。")
    page.reload()
    expect(app.card("本人").locator(".code")).to_have_attribute("data-code", _SIX_DIGITS)


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None,
            ) -> Callable[[Route], None]:
    def fulfil(route: Route) -> None:
        route.fulfill(status=status, body=json.dumps(body), headers={
            "Content-Type": "application/problem+json" if status >= 400 else "application/json",
            **(headers or {})})
    return fulfil


def test_activation_errors_say_what_happened_and_what_to_do(
    page: Page, app: PhoneApp, screenshots: Callable[[str], Screenshots],
) -> None:
    shot = screenshots("phone-app-errors")
    app.open()
    error = page.locator(".welcome .error")

    page.context.set_offline(True)
    app.page.get_by_role("button", name="トークンを発行する").click()
    expect(error).to_have_text(
        "インターネットに接続できないため、トークンを発行できませんでした。"
        "電波の届く場所で、もう一度お試しください。")
    shot("offline")
    page.context.set_offline(False)

    answers = {
        "rate-limited": (_answer(429, {"code": "rate_limited", "status": 429},
                                 {"Retry-After": "120"}),
                         "短時間にトークンの発行が多すぎたため、受付を一時的に制限しています。"
                         "2分ほど待ってから、もう一度お試しください。"),
        "refused": (_answer(503, {"code": "unavailable", "status": 503}),
                    "当金庫のサーバーがトークンの発行を受け付けませんでした。"),
        "low-order-server-key": (
            _answer(201, {"serial": "123456789015", "server_public_key": "A" * 43,
                          "salt": "oKGio6SlpqeoqaqrrK2urw", "algorithm": "SHA1",
                          "digits": 6, "period": 30, "expires_at": "2026-12-26T07:00:00Z"}),
            "当金庫のサーバーから正しい応答がなかったため、トークンを発行できませんでした。"),
    }
    for name, (answer, message) in answers.items():
        page.context.route("**/api/v1/activations", answer)
        page.get_by_role("button", name="トークンを発行する").click()
        expect(error).to_contain_text(message)
        shot(name)
        page.context.unroute("**/api/v1/activations")
    assert stored_tokens(page) == []
