"""Accessibility checks in the browser: axe-core (vendored, tests/e2e/vendor/axe-core) on a
screen, the size of its tap targets, and where the cursor is when it opens.

The site's Content-Security-Policy allows no script at all, so the browser contexts that run
axe are opened with ``bypass_csp`` (only the test's injected checker needs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page

from kinko.web.i18n import LANG_COOKIE
from tests.e2e.conftest import LiveServer
from tests.e2e.ib import SCREENSHOTS

AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
#: What fails a screen: axe's two highest impacts (moderate and minor are reported by axe's
#: own tools when someone looks; they are not a gate).
GATING = ("serious", "critical")
#: WCAG 2.5.5 (AAA) and Apple's and Google's guidance: a finger needs 44 x 44 CSS pixels.
TAP_TARGET = 44

_RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
  }));
}"""

_SMALL_TARGETS = """([selector, least]) => {
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown at this width
    if (box.width < least || box.height < least) {
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      small.push(`${el.outerHTML.slice(0, 80)}: ${size}`);
    }
  }
  return small;
}"""

#: The controls a customer or staff member taps on every screen, and a step's buttons.
TAPPED = ("header .tools a, header .tools button, nav.menu a, .actions a, .actions button, "
          ".tiles a")


@contextmanager
def open_page(browser: Browser, live_server: LiveServer, *, width: int, height: int,
              mobile: bool, lang: str = "ja") -> Iterator[Page]:
    """A browser context of its own at this size that lets axe in, in ``lang``."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height},
        is_mobile=mobile, has_touch=mobile, locale="ja-JP", timezone_id="Asia/Tokyo",
        bypass_csp=True,
    )
    context.set_default_timeout(10_000)
    if lang != "ja":
        context.add_cookies([{"name": LANG_COOKIE, "value": lang, "url": live_server.url}])
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass
class Audit:
    """axe and the tap-target check run on each screen visited; every finding is collected
    and reported at the end, by screen, so one run names all that is wrong."""

    viewport: str
    findings: dict[str, list[str]] = field(default_factory=dict)
    screens: list[str] = field(default_factory=list)

    def check(self, page: Page, screen: str) -> None:
        self.screens.append(screen)
        found = [f"axe {v['impact']} {v['id']}: {v['help']} at {v['targets']}"
                 for v in violations(page)]
        found += [f"tap target under {TAP_TARGET}px: {t}" for t in small_targets(page)]
        if found:
            self.findings[screen] = found
            folder = SCREENSHOTS / self.viewport
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=folder / f"FAILED-a11y-{screen}.png", full_page=True)

    def assert_clean(self) -> None:
        report = "\n".join(f"{screen} ({self.viewport}):\n  " + "\n  ".join(lines)
                           for screen, lines in self.findings.items())
        assert not self.findings, f"accessibility problems:\n{report}"


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the screen shown."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(_RUN_AXE)
    return [v for v in found if v["impact"] in GATING]


def small_targets(page: Page, selector: str = TAPPED) -> list[str]:
    found: list[str] = page.evaluate(_SMALL_TARGETS, [selector, TAP_TARGET])
    return found


def focused_id(page: Page) -> str:
    """The id of the element with the keyboard focus ("" for none)."""
    found: str = page.evaluate("() => document.activeElement ? document.activeElement.id : ''")
    return found
