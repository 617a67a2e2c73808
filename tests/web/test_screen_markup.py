"""What the customer screens say to assistive technology and small screens, as served (no
browser needed): where the cursor starts, which texts describe a field, the skip link, and
the メニュー page the smartphone's menu bar links to."""

from __future__ import annotations

import re

import pytest

from kinko.web.pages import CUSTOMER_MENU
from tests.support import LOGIN_PASSWORD, Harness
from tests.web.client import Browser


@pytest.fixture
def browser(harness: Harness) -> Browser:
    return Browser(harness)


def tag(html: str, element_id: str) -> str:
    found = re.search(rf'<(?:input|select)[^>]*\bid="{element_id}"[^>]*>', html)
    assert found is not None, element_id
    return found.group(0)


def test_a_step_opens_in_its_first_field_with_its_hint_tied_to_it(browser: Browser) -> None:
    html = browser.get("/login").text
    contract_id, password = tag(html, "f-contract_id"), tag(html, "f-login_password")
    assert " autofocus" in contract_id and "autofocus" not in password
    assert 'aria-describedby="f-contract_id-hint"' in contract_id
    assert 'id="f-contract_id-hint"' in html
    assert "aria-invalid" not in contract_id


def test_after_a_mistake_the_first_field_to_correct_has_the_cursor(browser: Browser) -> None:
    h = browser.h
    customer = h.customer()
    browser.get("/login")
    html = browser.post("/login", {"contract_id": customer.contract_id,
                                   "login_password": ""}).text
    contract_id, password = tag(html, "f-contract_id"), tag(html, "f-login_password")
    assert "autofocus" not in contract_id and "aria-invalid" not in contract_id
    assert " autofocus" in password and 'aria-invalid="true"' in password
    assert 'aria-describedby="f-login_password-error"' in password
    assert 'id="f-login_password-error"' in html


def test_every_screen_starts_with_a_skip_link_to_its_main_content(browser: Browser) -> None:
    html = browser.get("/login").text
    body = html[html.index("<body"):]
    first_link = re.search(r"<a [^>]*>[^<]*</a>", body)
    assert first_link is not None
    assert 'href="#main"' in first_link.group(0) and "本文へスキップ" in first_link.group(0)
    assert '<main id="main" tabindex="-1">' in html


def test_the_menu_page_lists_every_destination_for_a_signed_in_customer(
    browser: Browser,
) -> None:
    assert browser.get("/menu").headers["location"] == "/login"
    customer = browser.h.customer()
    assert browser.login(customer.contract_id, password=LOGIN_PASSWORD).headers[
        "location"] == "/home"
    html = browser.get("/menu").text
    tiles = html[html.index('<ul class="tiles">'):]
    for item in CUSTOMER_MENU:
        assert f'<a href="{item.href}">' in tiles, item.href
    assert '<a href="/menu" aria-current="page">' in html  # the bar's メニュー item
