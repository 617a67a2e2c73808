"""/app over HTTP: the phone app's page, manifest, service worker and files are served with
the right types and a strict CSP of their own, and 利用開始 points customers to the app."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kinko.web import phone_app
from kinko.web.i18n import CONTACT, translate
from tests.support import LOGIN_PASSWORD, Harness
from tests.web.client import Browser

APP_JS = phone_app.FILES / "app.js"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def browser(harness: Harness) -> Browser:
    return Browser(harness)


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def test_the_page_is_japanese_first_and_allows_only_its_own_scripts(browser: Browser) -> None:
    response = browser.get("/app")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == phone_app.CSP
    assert "script-src 'self';" in phone_app.CSP and "unsafe" not in phone_app.CSP
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-frame-options"] == "DENY"  # the site's headers still apply
    page = response.text
    assert '<html lang="ja">' in page
    assert '<link rel="manifest" href="/app/manifest.webmanifest">' in page
    assert '<a href="/lang/en?next=/app" lang="en">English</a>' in page
    # No inline script or style, and nothing from another origin.
    assert all('src="/app/' in tag for tag in re.findall(r"<script[^>]*>", page))
    assert re.search(r"<script[^>]*>\s*[^<\s]", page) is None
    assert " style=" not in page
    assert re.search(r"""(src|href)=["'](https?:)?//""", page) is None
    # The IB's help-desk line, as its footer has it.
    assert f"<footer>{CONTACT}</footer>" in page


def test_the_page_follows_the_internet_bankings_language_switch(browser: Browser) -> None:
    browser.client.cookies.set("kinko_lang", "en")
    page = browser.get("/app").text
    assert '<html lang="en">' in page
    assert '<a href="/lang/ja?next=/app" lang="ja">日本語</a>' in page
    assert f"<footer>{translate(CONTACT, 'en')}</footer>" in page
    assert browser.get("/app/").headers["location"] == "/app"


def test_the_manifest_installs_the_app_with_its_icons(browser: Browser) -> None:
    response = browser.get("/app/manifest.webmanifest")
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["start_url"] == manifest["scope"] == manifest["id"] == "/app"
    assert manifest["display"] == "standalone" and manifest["lang"] == "ja"
    assert manifest["name"] == "きんこ信用金庫 ワンタイムパスワード"
    assert {icon["purpose"] for icon in manifest["icons"]} == {"any", "maskable"}
    for icon in manifest["icons"]:
        served = browser.get(icon["src"])
        assert served.status_code == 200
        assert served.headers["content-type"] == icon["type"]
        if icon["type"] == "image/png":
            width, height = png_size(served.content)
            assert f"{width}x{height}" == icon["sizes"]
        else:
            svg = ET.fromstring(served.content)  # noqa: S314 - our own file
            assert svg.tag == SVG + "svg"
    assert png_size(browser.get("/app/icon-180.png").content) == (180, 180)  # apple-touch-icon


def test_the_service_worker_covers_app_and_keeps_the_files_for_offline(
    browser: Browser,
) -> None:
    response = browser.get("/app/sw.js")
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["service-worker-allowed"] == "/app"
    assert response.headers["content-security-policy"] == phone_app.CSP
    worker = response.text
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', worker)
    assert version is not None
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", worker).group(1))  # type: ignore[union-attr]
    assert {"/app", "/app/app.js", "/app/totp.js", "/app/activation.js", "/app/app.css",
            "/app/messages.json", "/app/manifest.webmanifest", "/app/icon-192.png"} <= set(shell)
    # Only activation needs the fallback X25519, and activation needs the network anyway.
    assert not [url for url in shell if "vendor" in url or "fallback" in url]
    for url in shell:
        assert browser.get(url).status_code == 200, url


def test_the_files_revalidate_with_an_etag(browser: Browser) -> None:
    first = browser.get("/app/app.js")
    assert first.headers["cache-control"] == "no-cache"
    again = browser.client.get("/app/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    changed = browser.client.get("/app/app.js", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == first.content


@pytest.mark.parametrize("path", ["/app/nothing.js", "/app/vendor/README.md",
                                  "/app/vendor", "/app/%2e%2e/phone_app.py"])
def test_only_the_apps_files_are_served(browser: Browser, path: str) -> None:
    assert browser.get(path).status_code == 404


def test_every_text_the_screens_use_is_there_in_japanese_and_english(
    browser: Browser,
) -> None:
    texts = browser.get("/app/messages.json").json()
    for name, entry in texts.items():
        assert set(entry) == {"ja", "en"} and all(entry.values()), name
    source = APP_JS.read_text(encoding="utf-8")
    used = set(re.findall(r"""\bt\(\s*["'](\w+)["']""", source))
    used |= {f"error_{kind}" for kind in ("offline", "refused", "malformed", "unsupported")}
    assert used <= set(texts), used - set(texts)
    assert texts["help_desk"] == {"ja": str(CONTACT), "en": translate(CONTACT, "en")}


def test_the_qr_code_holds_this_servers_app_address(browser: Browser) -> None:
    response = browser.get("/app/qr.svg")
    assert response.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(response.content)  # noqa: S314 - our own server's answer
    assert svg.tag == SVG + "svg"
    title = svg.find(SVG + "title")
    assert title is not None and title.text == "http://testserver/app"


def test_the_token_step_of_enroll_points_to_the_app(harness: Harness, browser: Browser) -> None:
    customer = harness.customer()
    assert "/app/qr.svg" not in browser.get("/otp/enroll").text
    browser.post("/otp/enroll", {"contract_id": customer.contract_id,
                                 "login_password": LOGIN_PASSWORD})
    page = browser.get("/otp/enroll/token").text
    assert '<img class="qr" src="/app/qr.svg"' in page
    assert '<a href="/app">ワンタイムパスワードアプリを開く</a>' in page


def test_the_vendored_library_is_what_its_readme_pins() -> None:
    vendor = phone_app.FILES / "vendor"
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    listed = dict(reversed(line.split("  ", 1))  # type: ignore[misc]
                  for line in re.findall(r"^[0-9a-f]{64}  \S+$", readme, re.MULTILINE))
    files = {path.relative_to(vendor).as_posix(): path for path in vendor.rglob("*")
             if path.is_file() and path.name != "README.md"}
    assert set(listed) == set(files)
    for name, path in files.items():
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == listed[name], name
