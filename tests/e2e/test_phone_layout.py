"""The customer's menu on a smartphone (360 and 390 px wide) and on a PC (1280 x 800), in
Japanese and in English: nothing scrolls sideways, no item sits off-screen, no label is cut
(an English word is never split across lines), every item is a 44 px tap target, and every
destination, ワンタイムパスワード履歴 included, is on the bar or on the メニュー page.

Screenshots: ``artifacts/screenshots/smartphone/phone-<screen>-<width>-<lang>.png``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from kinko.web.i18n import translate
from kinko.web.pages import CUSTOMER_MENU
from tests.e2e.a11y import open_page, small_targets
from tests.e2e.bank import Bank
from tests.e2e.conftest import VIEWPORTS, LiveServer
from tests.e2e.ib import SCREENSHOTS, enter_credentials

pytestmark = pytest.mark.parametrize("viewport", [VIEWPORTS[1]], indirect=True,
                                     ids=["smartphone"])

PHONE_WIDTHS = (360, 390)
LANGUAGES = ("ja", "en")

#: Each problem with the elements matching a selector, as the browser lays them out: off
#: the screen's sides, content wider or taller than its box (clipped or spilling), or a word
#: broken across two lines. Elements not shown at this width are skipped.
_LAYOUT_PROBLEMS = """(selector) => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (!el.getClientRects().length || box.width === 0) continue;
    const name = el.textContent.trim();
    if (box.left < 0 || box.right > width + 0.5) {
      const span = `${Math.round(box.left)}..${Math.round(box.right)}`;
      problems.push(`${name}: ${span} outside 0..${width}`);
    }
    if (el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight) {
      const content = `${el.scrollWidth}x${el.scrollHeight}`;
      problems.push(`${name}: content ${content} in ${el.clientWidth}x${el.clientHeight}`);
    }
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) problems.push(`${name}: "${word[0]}" is broken across lines`);
      }
    }
  }
  return problems;
}"""

_SHOWN = """(selector) => [...document.querySelectorAll(selector)]
  .filter(el => el.getClientRects().length && el.getBoundingClientRect().width > 0)
  .map(el => [el.getAttribute("href"), Math.round(el.getBoundingClientRect().top)])"""


def layout_problems(page: Page, selector: str) -> list[str]:
    found: list[str] = page.evaluate(_LAYOUT_PROBLEMS, selector)
    return found


def shown_links(page: Page, selector: str) -> list[tuple[str, int]]:
    """(href, top) of each link matching ``selector`` that is shown at this width."""
    return [(href, top) for href, top in page.evaluate(_SHOWN, selector)]


def page_scrolls_sideways(page: Page) -> bool:
    wider: bool = page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth")
    return wider


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer, bank: Bank) -> Iterator[Page]:
    """One signed-in smartphone browser for the whole test (its width changed as needed)."""
    with open_page(browser, live_server, width=PHONE_WIDTHS[0], height=780,
                   mobile=True) as page:
        page.goto("/login")
        enter_credentials(page, bank.customer(otp=True))
        with page.expect_navigation():
            page.locator("main button.primary").click()
        assert page.url.endswith("/home")
        yield page


def switch_language(page: Page, lang: str, path: str) -> None:
    page.goto(f"/lang/{lang}?next={path}")
    expect(page.locator("html")).to_have_attribute("lang", lang)


def test_the_phone_menu_fits_at_360_and_390_px_in_both_languages(phone: Page) -> None:
    every_destination = {item.href for item in CUSTOMER_MENU}
    on_bar = {item.href for item in CUSTOMER_MENU if item.on_phone_bar} | {"/menu"}
    folder = SCREENSHOTS / "smartphone"
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for lang in LANGUAGES:
        switch_language(phone, lang, "/home")
        for width in PHONE_WIDTHS:
            phone.set_viewport_size({"width": width, "height": 780})
            where = f"{width}px {lang}"
            for path in ("/login", "/home", "/menu", "/transfer"):
                phone.goto(path)
                if page_scrolls_sideways(phone):
                    problems.append(f"{path} at {where} scrolls sideways")
                problems += [f"{path} at {where}: {p}" for p in
                             layout_problems(phone, "header .brand, header .tools > *, "
                                                    "nav.menu a, .tiles a")]
                problems += [f"{path} at {where}: under 44px: {t}"
                             for t in small_targets(phone)]
                if path == "/login":
                    continue
                # The bar: its few items on one row, the rest one tap away on the メニュー page.
                bar = shown_links(phone, "nav.menu a")
                assert {href for href, _ in bar} == on_bar, (where, bar)
                assert len({top for _, top in bar}) == 1, (where, bar)
            # The メニュー page lists every destination, ワンタイムパスワード履歴 included.
            phone.goto("/menu")
            expect(phone.locator("h1")).to_have_text(translate("メニュー", lang))
            tiles = shown_links(phone, "main .tiles a")
            assert {href for href, _ in tiles} == every_destination, (where, tiles)
            expect(phone.locator("nav.menu a[href='/menu']")).to_have_attribute(
                "aria-current", "page")
            phone.screenshot(path=folder / f"phone-menu-{width}-{lang}.png", full_page=True)
            phone.goto("/home")
            expect(phone.locator("main a[href='/otp/history']")).to_have_text(
                translate("ワンタイムパスワード履歴", lang))
            phone.screenshot(path=folder / f"phone-home-{width}-{lang}.png")
    assert not problems, "\n".join(problems)


def test_on_a_pc_the_bar_shows_every_item_on_one_row_in_both_languages(
    browser: Browser, live_server: LiveServer, bank: Bank,
) -> None:
    every_destination = {item.href for item in CUSTOMER_MENU}
    folder = SCREENSHOTS / "pc"
    folder.mkdir(parents=True, exist_ok=True)
    with open_page(browser, live_server, width=1280, height=800, mobile=False) as pc:
        pc.goto("/login")
        enter_credentials(pc, bank.customer(otp=True))
        with pc.expect_navigation():
            pc.locator("main button.primary").click()
        for lang in LANGUAGES:
            switch_language(pc, lang, "/home")
            bar = shown_links(pc, "nav.menu a")
            assert {href for href, _ in bar} == every_destination, (lang, bar)
            assert len({top for _, top in bar}) == 1, (lang, bar)
            assert not page_scrolls_sideways(pc)
            assert layout_problems(pc, "header .tools > *, nav.menu a") == []
            assert small_targets(pc) == []
            expect(pc.locator("nav.menu a[href='/home']")).to_have_attribute(
                "aria-current", "page")
            pc.screenshot(path=folder / f"pc-menu-bar-{lang}.png")
