"""Behaviour of kinko.domain.ocra beyond the RFC 6287 vectors: suites, inputs, responses."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from kinko.domain.errors import InvalidInput, WrongCode
from kinko.domain.ocra import OcraSuite, ocra, timestamp_steps, verify_ocra
from kinko.domain.otp import Algorithm

KEY = b"12345678901234567890"


# --- OCRA suites ------------------------------------------------------------------------------


def test_an_ocra_suite_is_parsed_into_its_parts() -> None:
    suite = OcraSuite.parse("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1")
    assert suite.text == "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1"
    assert suite.algorithm is Algorithm.SHA256
    assert suite.digits == 8
    assert suite.counter is True
    assert (suite.question_format, suite.question_length) == ("N", 8)
    assert suite.pin_algorithm is Algorithm.SHA1
    assert suite.session_length is None
    assert suite.time_step is None


def test_an_ocra_suite_with_every_input_is_parsed() -> None:
    suite = OcraSuite.parse("OCRA-1:HOTP-SHA512-0:C-QH64-PSHA512-S128-T48H")
    assert suite.digits == 0
    assert suite.counter is True
    assert (suite.question_format, suite.question_length) == ("H", 64)
    assert suite.pin_algorithm is Algorithm.SHA512
    assert suite.session_length == 128
    assert suite.time_step == 48 * 3600


@pytest.mark.parametrize(("text", "seconds"), [("T30S", 30), ("T1M", 60), ("T59M", 3540)])
def test_ocra_time_steps_are_counted_in_seconds(text: str, seconds: int) -> None:
    assert OcraSuite.parse(f"OCRA-1:HOTP-SHA1-6:QA10-{text}").time_step == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "OCRA-1:HOTP-SHA1-6",
        "OCRA-2:HOTP-SHA1-6:QN08",
        "ocra-1:hotp-sha1-6:qn08",
        "OCRA-1:HOTP-MD5-6:QN08",
        "OCRA-1:HOTP-SHA1-3:QN08",
        "OCRA-1:HOTP-SHA1-11:QN08",
        "OCRA-1:HOTP-SHA1-６:QN08",
        "OCRA-1:HOTP-SHA1-6:",
        "OCRA-1:HOTP-SHA1-6:C",
        "OCRA-1:HOTP-SHA1-6:QN03",
        "OCRA-1:HOTP-SHA1-6:QN65",
        "OCRA-1:HOTP-SHA1-6:QN8",
        "OCRA-1:HOTP-SHA1-6:QX08",
        "OCRA-1:HOTP-SHA1-6:QN08-",
        "OCRA-1:HOTP-SHA1-6:QN08 ",
        "OCRA-1:HOTP-SHA1-6:QN08-C",
        "OCRA-1:HOTP-SHA1-6:QN08-QN08",
        "OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1",
        "OCRA-1:HOTP-SHA1-6:QN08-PMD5",
        "OCRA-1:HOTP-SHA1-6:QN08-S000",
        "OCRA-1:HOTP-SHA1-6:QN08-S513",
        "OCRA-1:HOTP-SHA1-6:QN08-S64",
        "OCRA-1:HOTP-SHA1-6:QN08-T0S",
        "OCRA-1:HOTP-SHA1-6:QN08-T60S",
        "OCRA-1:HOTP-SHA1-6:QN08-T49H",
        "OCRA-1:HOTP-SHA1-6:QN08-T1D",
    ],
)
def test_a_malformed_ocra_suite_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        OcraSuite.parse(text)


# --- OCRA responses ---------------------------------------------------------------------------


def _truncate(mac: bytes, digits: int) -> str:
    offset = mac[-1] & 0x0F
    return str((int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % 10**digits).zfill(
        digits
    )


def test_an_alphanumeric_question_is_its_ascii_bytes_zero_padded() -> None:
    suite = "OCRA-1:HOTP-SHA1-6:QA08"
    message = suite.encode() + b"\x00" + b"CLI22220".ljust(128, b"\x00")
    expected = _truncate(hmac.digest(KEY, message, "sha1"), 6)
    assert ocra(suite, KEY, question="CLI22220") == expected


def test_a_hex_question_is_its_bytes_right_padded_to_an_even_length() -> None:
    suite = "OCRA-1:HOTP-SHA1-8:QH08"
    message = suite.encode() + b"\x00" + bytes.fromhex("ABCDE0").ljust(128, b"\x00")
    expected = _truncate(hmac.digest(KEY, message, "sha1"), 8)
    assert ocra(suite, KEY, question="ABCDE") == expected
    assert ocra(suite, KEY, question="abcde") == expected


def test_session_information_goes_after_the_question() -> None:
    suite = "OCRA-1:HOTP-SHA1-6:QN08-S004"
    question = bytes.fromhex(format(12345678, "X")).ljust(128, b"\x00")
    message = suite.encode() + b"\x00" + question + b"sess"
    expected = _truncate(hmac.digest(KEY, message, "sha1"), 6)
    assert ocra(suite, KEY, question="12345678", session=b"sess") == expected


def test_digits_zero_means_the_whole_hmac_in_hex() -> None:
    suite = "OCRA-1:HOTP-SHA1-0:QA08"
    message = suite.encode() + b"\x00" + b"CHALLENG".ljust(128, b"\x00")
    assert ocra(suite, KEY, question="CHALLENG") == hmac.new(KEY, message, "sha1").hexdigest()


@pytest.mark.parametrize(
    ("suite", "digits"), [("OCRA-1:HOTP-SHA1-4:QN08", 4), ("OCRA-1:HOTP-SHA1-10:QN08", 10)]
)
def test_ocra_responses_have_the_suites_digits(suite: str, digits: int) -> None:
    response = ocra(suite, KEY, question="12345678")
    assert len(response) == digits
    assert response.isdigit()


PIN = hashlib.sha1(b"1234").digest()  # noqa: S324 - RFC 6287 PSHA1 is SHA-1 by definition


@pytest.mark.parametrize(
    ("suite", "inputs", "message"),
    [
        ("OCRA-1:HOTP-SHA1-6:C-QN08", {}, "needs a counter"),
        ("OCRA-1:HOTP-SHA1-6:QN08", {"counter": 1}, "takes no counter"),
        ("OCRA-1:HOTP-SHA1-6:C-QN08", {"counter": -1}, "counter"),
        ("OCRA-1:HOTP-SHA1-6:QN08-PSHA1", {}, "needs a PIN hash"),
        ("OCRA-1:HOTP-SHA1-6:QN08-PSHA256", {"pin_hash": PIN}, "32 bytes"),
        ("OCRA-1:HOTP-SHA1-6:QN08", {"pin_hash": PIN}, "takes no PIN hash"),
        ("OCRA-1:HOTP-SHA1-6:QN08-S064", {}, "needs session"),
        ("OCRA-1:HOTP-SHA1-6:QN08-S064", {"session": b"short"}, "64 bytes"),
        ("OCRA-1:HOTP-SHA1-6:QN08", {"session": b"x" * 64}, "takes no session"),
        ("OCRA-1:HOTP-SHA1-6:QN08-T1M", {}, "needs a timestamp"),
        ("OCRA-1:HOTP-SHA1-6:QN08-T1M", {"timestamp": -1}, "timestamp"),
        ("OCRA-1:HOTP-SHA1-6:QN08", {"timestamp": 1}, "takes no timestamp"),
    ],
)
def test_ocra_refuses_inputs_that_do_not_fit_the_suite(
    suite: str, inputs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        ocra(suite, KEY, question="12345678", **inputs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("suite", "question"),
    [
        ("OCRA-1:HOTP-SHA1-6:QN08", "123456789"),
        ("OCRA-1:HOTP-SHA1-6:QN08", "123"),
        ("OCRA-1:HOTP-SHA1-6:QN08", "1234567a"),
        ("OCRA-1:HOTP-SHA1-6:QN08", "１２３４５６７８"),
        ("OCRA-1:HOTP-SHA1-6:QH08", "0x12ab"),
        ("OCRA-1:HOTP-SHA1-6:QH08", "12_ab"),
        ("OCRA-1:HOTP-SHA1-6:QA08", "ＡＢＣＤ"),
    ],
)
def test_ocra_refuses_a_malformed_question(suite: str, question: str) -> None:
    with pytest.raises(InvalidInput, match="question"):
        ocra(suite, KEY, question=question)


def test_a_wrong_ocra_response_raises_wrong_code_without_echoing_it() -> None:
    suite = "OCRA-1:HOTP-SHA1-6:QN08"
    right = ocra(suite, KEY, question="12345678")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    with pytest.raises(WrongCode) as caught:
        verify_ocra(suite, KEY, wrong, question="12345678")
    assert wrong not in str(caught.value)
    for malformed in ("", right[:-1], right + "0", "ＡＢＣ"):
        with pytest.raises(WrongCode):
            verify_ocra(suite, KEY, malformed, question="12345678")
    verify_ocra(suite, KEY, right, question="12345678")


def test_timestamp_steps_needs_a_time_based_suite() -> None:
    with pytest.raises(InvalidInput, match="timestamp"):
        timestamp_steps("OCRA-1:HOTP-SHA1-6:QN08", 1_700_000_000)


def test_timestamp_steps_counts_the_suites_steps_since_the_epoch() -> None:
    assert timestamp_steps("OCRA-1:HOTP-SHA1-6:QN08-T30S", 59.9) == 1
    assert timestamp_steps("OCRA-1:HOTP-SHA1-6:QN08-T2H", 7200 * 5 + 1) == 5
