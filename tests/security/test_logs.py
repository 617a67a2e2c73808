"""The server's log as an operator reads it: one line per request with its id, route and
status; the decision of every code check; identifiers masked; and never a secret — the
customer screens' session cookie and CSRF token included."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from pydantic import ValidationError

from kinko.config import Settings
from kinko.domain.errors import WrongCode
from kinko.domain.masking import mask_serial
from kinko.logs import accept_request_id, configure
from kinko.services import transactions
from tests.security.logcapture import assert_no_secret, json_log
from tests.security.test_no_secrets_leak import NOISE, seed_forms
from tests.support import LOGIN_PASSWORD, Harness
from tests.web.client import Browser

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def browser(harness: Harness) -> Browser:
    return Browser(harness)


def test_the_customer_screens_log_requests_and_decisions_but_no_secret(
    browser: Browser,
) -> None:
    b, h = browser, browser.h
    customer = h.customer("1000000001")
    issued = h.enroll(customer, login_otp=True)
    right, wrong = h.code(issued).reveal(), h.wrong_code(issued).reveal()
    with json_log("debug") as jlog:
        assert b.login(customer.contract_id).headers["location"] == "/login/otp"
        assert b.submit("/login/otp", {"otp": wrong}).status_code == 422
        assert b.submit("/login/otp", {"otp": right}).headers["location"] == "/home"
        home = b.get("/home?account=planted-query-value")
    cookie, csrf = b.cookie, b.csrf
    assert cookie and csrf and home.status_code == 200

    secrets = [LOGIN_PASSWORD, cookie, csrf, "planted-query-value", *seed_forms(issued.seed)]
    assert_no_secret([jlog.text], secrets, [right, wrong], noise=NOISE)

    access = jlog.of("kinko.access")
    assert [(line["method"], line["route"], line["status"]) for line in access] == [
        ("GET", "/login", 200), ("POST", "/login", 303),
        ("GET", "/login/otp", 200), ("POST", "/login/otp", 422),
        ("GET", "/login/otp", 200), ("POST", "/login/otp", 303),
        ("GET", "/home", 200)]
    assert all(GENERATED.fullmatch(line["request_id"]) for line in access)
    assert len({line["request_id"] for line in access}) == len(access)
    assert all(line["client"] == "testclient" and line["duration_ms"] > 0 for line in access)

    decisions = jlog.of("kinko.services.verification")
    assert [(d["outcome"], d["level"]) for d in decisions] == [
        ("wrong_code", "info"), ("accepted", "debug")]
    for decision, posted in zip(decisions, (access[3], access[5]), strict=True):
        assert decision["request_id"] == posted["request_id"]  # carried into the service
        assert decision["contract_id"] == "10****0001"
        assert decision["serial"] == mask_serial(issued.token.serial)
        assert decision["channel"] == "web"
    assert customer.contract_id not in jlog.text and issued.token.serial not in jlog.text


def test_a_sane_request_id_is_kept_and_anything_else_replaced(browser: Browser) -> None:
    client = browser.client
    with json_log("info") as jlog:
        kept = client.get("/login", headers={"X-Request-ID": "ib-core.2024_0001-a"})
        odd = [client.get("/login", headers={"X-Request-ID": value}).headers["X-Request-ID"]
               for value in ("short", "x" * 65, "has space 12345", "-leading-hyphen",
                             "ＩＤ１２３４５６７８".encode(), "a,b;c=d12345")]
        missing = client.get("/login").headers["X-Request-ID"]
    assert kept.headers["X-Request-ID"] == "ib-core.2024_0001-a"
    assert all(GENERATED.fullmatch(value) for value in (*odd, missing))
    assert len(set(odd)) == len(odd)
    ids = [line["request_id"] for line in jlog.of("kinko.access")]
    assert ids == ["ib-core.2024_0001-a", *odd, missing]
    assert "has space" not in jlog.text and "a,b;c=d" not in jlog.text


def test_an_unmatched_path_is_logged_without_its_path(browser: Browser) -> None:
    with json_log("info") as jlog:
        assert browser.client.get("/no/such/page/1000000001?q=x").status_code == 404
    (line,) = jlog.of("kinko.access")
    assert line["route"] is None and line["status"] == 404
    assert "1000000001" not in jlog.text and "/no/such" not in jlog.text


def test_at_info_accepted_codes_are_not_logged_and_refusals_are(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    with json_log("info") as jlog:
        transactions.authorize(h.ctx, customer.id, purpose="transfer", code=h.code(issued))
        with pytest.raises(WrongCode):
            transactions.authorize(h.ctx, customer.id, purpose="transfer",
                                   code=h.wrong_code(issued))
    assert [d["outcome"] for d in jlog.of("kinko.services.verification")] == ["wrong_code"]


def test_the_leak_check_fails_on_a_planted_secret() -> None:
    """The leak tests are only worth something if a secret in a line makes them fail."""
    with json_log("debug") as jlog:
        logging.getLogger("kinko.services.verification").debug(
            "code checked", extra={"fields": {"otp": "493817"}})
    with pytest.raises(AssertionError):
        assert_no_secret([jlog.text], [], ["493817"], noise=NOISE)
    with pytest.raises(AssertionError):
        assert_no_secret([jlog.text + "login-pass-1"], [LOGIN_PASSWORD])


def test_text_lines_are_readable_and_json_lines_are_one_object_each() -> None:
    logger = logging.getLogger("kinko.test")
    root, own = logging.getLogger(), logging.getLogger("kinko")
    levels = root.level, own.level
    text, lines = io.StringIO(), io.StringIO()
    try:
        configure("debug", "text", stream=text)
        logger.info("request", extra={"fields": {"route": "/login", "status": 200,
                                                 "note": "two words"}})
        handler = configure("DEBUG", "json", stream=lines)  # replaces the text handler
        logger.warning("multi\nline", extra={"fields": {"status": 503}})
        root.removeHandler(handler)
    finally:
        root.setLevel(levels[0])
        own.setLevel(levels[1])
    assert re.fullmatch(r"\S+Z INFO    kinko\.test request route=/login status=200 "
                        r'note="two words"\n', text.getvalue())
    (line,) = lines.getvalue().splitlines()
    parsed = json.loads(line)
    assert parsed["message"] == "multi\nline" and parsed["level"] == "warning"
    assert parsed["status"] == 503 and parsed["logger"] == "kinko.test"


def test_other_libraries_stay_at_info_when_kinko_logs_at_debug() -> None:
    root, own = logging.getLogger(), logging.getLogger("kinko")
    levels = root.level, own.level
    try:
        handler = configure("debug", "json", stream=io.StringIO())
        assert own.getEffectiveLevel() == logging.DEBUG
        assert logging.getLogger("multipart").getEffectiveLevel() == logging.INFO
        root.removeHandler(handler)
    finally:
        root.setLevel(levels[0])
        own.setLevel(levels[1])


def test_log_settings_are_checked() -> None:
    assert Settings(log_format="json", log_level="DEBUG").log_format == "json"
    for bad in ({"log_format": "xml"}, {"log_level": "verbose"}):
        with pytest.raises(ValidationError):
            Settings(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="log level"):
        configure("verbose")


def test_request_ids_are_checked_before_they_are_trusted() -> None:
    assert accept_request_id(b"abcd-1234") == "abcd-1234"
    assert GENERATED.fullmatch(accept_request_id(b"\xff\xfe-not-ascii"))
    assert GENERATED.fullmatch(accept_request_id(None))

