"""Another authenticator app instead of kinko's: an otpauth:// QR code in 利用開始 and 交換,
and codes from a standard implementation (Debian's oathtool) are accepted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from kinko.domain.lifecycle import TokenState
from kinko.domain.model import TokenOrigin
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness
from tests.web.client import Browser, text_of

OATHTOOL = shutil.which("oathtool")


def oathtool_code(secret: str, h: Harness) -> str:
    """What a standard TOTP app computes from the key the page shows, at the test's time."""
    if OATHTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("oathtool is missing; `make test-tools` installs it")
        pytest.skip("oathtool is not installed (Debian package oathtool)")
    now = h.clock().strftime("%Y-%m-%d %H:%M:%S UTC")
    result = subprocess.run(  # noqa: S603 - a fixed tool with our own arguments
        [OATHTOOL, "--totp", "--base32", "--now", now, secret.replace(" ", "")],
        capture_output=True, text=True, check=True)
    return result.stdout.strip()


def shown_secret(page_text: str) -> str:
    found = re.search(r'<p class="secret">([A-Z2-7 ]+)</p>', page_text)
    assert found is not None, "the page shows no key"
    return found.group(1)


def test_the_option_is_hidden_unless_the_bank_allows_it(harness: Harness) -> None:
    b = Browser(harness)
    customer = harness.customer()
    b.get("/otp/enroll")
    b.post("/otp/enroll", {"contract_id": customer.contract_id,
                           "login_password": LOGIN_PASSWORD})
    assert "/otp/enroll/app" not in b.get("/otp/enroll/token").text
    assert b.get("/otp/enroll/app").headers["location"] == "/otp/enroll/token"


def test_enrollment_with_another_authenticator_app_accepts_oathtool_codes(
    harness: Harness,
) -> None:
    h = harness
    b = Browser(h, third_party_apps=True)
    customer = h.customer()
    b.get("/otp/enroll")
    b.post("/otp/enroll", {"contract_id": customer.contract_id,
                           "login_password": LOGIN_PASSWORD})
    assert "/otp/enroll/app" in b.get("/otp/enroll/token").text
    page = b.get("/otp/enroll/app")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text
    secret = shown_secret(page.text)
    serial = re.search(r"(\d{4} \d{4} \d{4})", text_of(page))
    assert serial is not None
    assert b.get("/otp/enroll/app").text.count(secret) == 1  # the same token on reload

    response = b.post("/otp/enroll/app", {"otp": oathtool_code(secret, h)})
    assert response.headers["location"] == "/otp/enroll/settings"
    b.get("/otp/enroll/settings")
    done = b.post("/otp/enroll/settings", {"login_otp": "no",
                                           "confirmation_password": CONFIRMATION_PASSWORD})
    assert done.headers["location"] == "/otp/enroll/done"
    with h.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial.group(1).replace(" ", ""))
    assert token is not None
    assert (token.state, token.origin, token.customer_id) == (
        TokenState.ACTIVE, TokenOrigin.THIRD_PARTY, customer.id)


def test_exchange_to_another_authenticator_app(harness: Harness) -> None:
    h = harness
    b = Browser(h, third_party_apps=True)
    customer = h.customer()
    old = h.enroll(customer)
    b.get("/otp/exchange")
    b.post("/otp/exchange", {"contract_id": customer.contract_id,
                             "login_password": LOGIN_PASSWORD})
    b.get("/otp/exchange/old")
    assert b.post("/otp/exchange/old", {"otp": h.code(old).reveal()}).headers[
        "location"] == "/otp/exchange/new"
    page = b.get("/otp/exchange/app")
    secret = shown_secret(page.text)
    h.next_step()
    wrong = b.post("/otp/exchange/app", {"otp": "000000" if oathtool_code(secret, h)
                                         != "000000" else "111111"})
    assert "ワンタイムパスワードが正しくありません。" in text_of(wrong)
    response = b.post("/otp/exchange/app", {"otp": oathtool_code(secret, h)})
    assert response.headers["location"] == "/otp/exchange/done"
    with h.ctx.uow() as uow:
        bound = uow.tokens.bound_to(customer.id)
    assert bound is not None and bound.origin is TokenOrigin.THIRD_PARTY
