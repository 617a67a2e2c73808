"""Behaviour of kinko.domain.otp beyond the RFC vectors: windows, drift, replay, resync, OCRA."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinko.domain.errors import InvalidInput, ReplayedCode, WrongCode
from kinko.domain.otp import (
    Algorithm,
    OcraSuite,
    TotpMatch,
    TotpParameters,
    find_resync_steps,
    hotp,
    ocra,
    timestamp_steps,
    verify_ocra,
    verify_totp,
)

KEY = b"12345678901234567890"
PARAMS = TotpParameters()
NOW = 1_700_000_025  # in the middle of a 30-second step
STEP = PARAMS.step_at(NOW)


def code(step: int, params: TotpParameters = PARAMS, key: bytes = KEY) -> str:
    return params.code_at_step(key, step)


computed: list[int] = []  # steps RecordingParameters was asked for, reset before each test


class RecordingParameters(TotpParameters):
    """Real parameters that remember which steps were computed."""

    def code_at_step(self, key: bytes, step: int) -> str:
        computed.append(step)
        return super().code_at_step(key, step)


class ConstantParameters(TotpParameters):
    """Parameters whose every step shows the same code, to test which step wins a tie."""

    def code_at_step(self, key: bytes, step: int) -> str:
        return "123456"


@pytest.fixture(autouse=True)
def _reset_recording() -> None:
    computed.clear()


# --- Algorithm and HOTP -----------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_algorithm_names_its_hashlib_hash_and_digest_size(algorithm: Algorithm) -> None:
    assert hashlib.new(algorithm.hashlib_name).digest_size == algorithm.digest_size
    assert Algorithm(algorithm.value) is algorithm
    assert algorithm == algorithm.value  # a str, so it stores and serialises as its name


@pytest.mark.parametrize("digits", [6, 7, 8])
def test_hotp_codes_are_zero_padded_to_the_requested_digits(digits: int) -> None:
    codes = [hotp(KEY, counter, digits=digits) for counter in range(200)]
    assert all(len(c) == digits and c.isdigit() for c in codes)
    assert any(c.startswith("0") for c in codes)


@pytest.mark.parametrize("digits", [0, 5, 9, 10])
def test_hotp_rejects_digits_outside_six_to_eight(digits: int) -> None:
    with pytest.raises(InvalidInput, match="digits"):
        hotp(KEY, 0, digits=digits)


@pytest.mark.parametrize("counter", [-1, 2**64])
def test_hotp_rejects_counters_that_do_not_fit_eight_unsigned_bytes(counter: int) -> None:
    with pytest.raises(InvalidInput, match="counter"):
        hotp(KEY, counter)


def test_hotp_accepts_the_largest_eight_byte_counter() -> None:
    assert len(hotp(KEY, 2**64 - 1)) == 6


def test_hotp_rejects_an_empty_key() -> None:
    with pytest.raises(InvalidInput, match="key"):
        hotp(b"", 0)


# --- TOTP parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"digits": 5},
        {"digits": 9},
        {"period": 0},
        {"period": -30},
        {"t0": -1},
        {"algorithm": "SHA1"},
    ],
    ids=["digits-5", "digits-9", "period-0", "period-negative", "t0-negative", "plain-str"],
)
def test_totp_parameters_refuse_invalid_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        TotpParameters(**kwargs)  # type: ignore[arg-type]


def test_totp_parameters_default_to_the_bank_app_settings() -> None:
    assert TotpParameters() == TotpParameters(algorithm=Algorithm.SHA1, digits=6, period=30, t0=0)


@pytest.mark.parametrize(
    ("now", "step"),
    [(0, 0), (29, 0), (29.999, 0), (30, 1), (59.5, 1), (60, 2), (-0.5, -1), (-30, -1), (-31, -2)],
)
def test_step_at_floors_time_since_t0_divided_by_period(now: float, step: int) -> None:
    assert PARAMS.step_at(now) == step


def test_step_at_counts_from_t0() -> None:
    params = TotpParameters(period=60, t0=100)
    assert params.step_at(100) == 0
    assert params.step_at(159) == 0
    assert params.step_at(160) == 1
    assert params.step_at(99) == -1


@pytest.mark.parametrize(
    ("now", "left"), [(0, 30.0), (1, 29.0), (29.5, 0.5), (30, 30.0), (NOW, 15.0)]
)
def test_seconds_left_runs_down_to_the_next_step(now: float, left: float) -> None:
    assert PARAMS.seconds_left(now) == pytest.approx(left)


def test_seconds_left_counts_from_t0() -> None:
    assert TotpParameters(period=60, t0=10).seconds_left(15) == 55.0


def test_code_at_is_the_code_of_the_step_at_that_time() -> None:
    assert PARAMS.code_at(KEY, NOW) == code(STEP)
    assert PARAMS.code_at(KEY, NOW + 30) == code(STEP + 1)


# --- verify_totp: window and drift ------------------------------------------------------------


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_one_step_either_side_is_accepted_and_reports_its_drift(offset: int) -> None:
    match = verify_totp(PARAMS, KEY, code(STEP + offset), now=NOW)
    assert match == TotpMatch(step=STEP + offset, drift=offset)


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_is_wrong_with_the_default_window(offset: int) -> None:
    with pytest.raises(WrongCode):
        verify_totp(PARAMS, KEY, code(STEP + offset), now=NOW)


def test_a_wider_window_accepts_a_code_two_steps_away() -> None:
    match = verify_totp(PARAMS, KEY, code(STEP + 2), now=NOW, window=2)
    assert match == TotpMatch(step=STEP + 2, drift=2)


def test_window_zero_accepts_only_the_current_step() -> None:
    assert verify_totp(PARAMS, KEY, code(STEP), now=NOW, window=0).step == STEP
    with pytest.raises(WrongCode):
        verify_totp(PARAMS, KEY, code(STEP + 1), now=NOW, window=0)


def test_learned_drift_moves_the_window() -> None:
    far = code(STEP + 5)
    with pytest.raises(WrongCode):
        verify_totp(PARAMS, KEY, far, now=NOW)
    match = verify_totp(PARAMS, KEY, far, now=NOW, drift=5)
    assert match == TotpMatch(step=STEP + 5, drift=5)
    assert verify_totp(PARAMS, KEY, code(STEP + 6), now=NOW, drift=5).drift == 6


def test_a_negative_window_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="window"):
        verify_totp(PARAMS, KEY, code(STEP), now=NOW, window=-1)


def test_a_code_from_another_key_is_wrong() -> None:
    with pytest.raises(WrongCode):
        verify_totp(PARAMS, b"another key of twenty", code(STEP), now=NOW)


def test_every_candidate_is_computed_even_when_the_first_one_matches() -> None:
    params = RecordingParameters()
    verify_totp(params, KEY, code(STEP - 1), now=NOW, window=2)
    assert computed == [STEP - 2, STEP - 1, STEP, STEP + 1, STEP + 2]


# --- verify_totp: replay ----------------------------------------------------------------------


def test_a_code_for_the_last_accepted_step_is_a_replay() -> None:
    with pytest.raises(ReplayedCode):
        verify_totp(PARAMS, KEY, code(STEP), now=NOW, last_step=STEP)


def test_a_code_below_the_last_accepted_step_is_a_replay() -> None:
    with pytest.raises(ReplayedCode):
        verify_totp(PARAMS, KEY, code(STEP - 1), now=NOW, last_step=STEP)


def test_a_code_just_above_the_last_accepted_step_is_accepted() -> None:
    assert verify_totp(PARAMS, KEY, code(STEP), now=NOW, last_step=STEP - 1).step == STEP


def test_a_wrong_code_is_wrong_not_replayed_even_when_steps_are_spent() -> None:
    with pytest.raises(WrongCode):
        verify_totp(PARAMS, KEY, code(STEP + 7), now=NOW, last_step=STEP + 1)


def test_the_lowest_matching_step_wins_when_several_match() -> None:
    match = verify_totp(ConstantParameters(), KEY, "123456", now=NOW)
    assert match == TotpMatch(step=STEP - 1, drift=-1)


def test_an_unspent_match_wins_over_a_spent_one() -> None:
    match = verify_totp(ConstantParameters(), KEY, "123456", now=NOW, last_step=STEP)
    assert match == TotpMatch(step=STEP + 1, drift=1)


# --- verify_totp: shape of the code and negative steps ----------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["", "12345", "1234567", "12345a", "12 456", "-12345", "+12345", "１２３４５６", "١٢٣٤٥٦"],
    ids=["empty", "short", "long", "letter", "space", "minus", "plus", "full-width", "arabic"],
)
def test_a_code_not_made_of_six_ascii_digits_is_wrong_and_not_echoed(typed: str) -> None:
    with pytest.raises(WrongCode) as caught:
        verify_totp(PARAMS, KEY, typed, now=NOW)
    if typed:
        assert typed not in str(caught.value)


def test_a_wrong_code_is_not_echoed_in_the_error() -> None:
    wrong = "000000" if code(STEP) != "000000" else "111111"
    with pytest.raises(WrongCode) as caught:
        verify_totp(PARAMS, KEY, wrong, now=NOW, window=0)
    assert wrong not in str(caught.value)
    assert wrong not in repr(caught.value)


def test_negative_steps_are_skipped_not_computed() -> None:
    params = RecordingParameters()
    match = verify_totp(params, KEY, code(0), now=10)
    assert match == TotpMatch(step=0, drift=0)
    assert computed == [0, 1]


def test_a_window_entirely_before_t0_is_simply_wrong() -> None:
    with pytest.raises(WrongCode):
        verify_totp(PARAMS, KEY, code(0), now=10, drift=-5)


def test_eight_digit_parameters_need_eight_digit_codes() -> None:
    params = TotpParameters(digits=8, algorithm=Algorithm.SHA256)
    eight = params.code_at(KEY, NOW)
    assert verify_totp(params, KEY, eight, now=NOW).step == STEP
    with pytest.raises(WrongCode):
        verify_totp(params, KEY, eight[:6], now=NOW)


@given(
    key=st.binary(min_size=1, max_size=64),
    now=st.integers(min_value=0, max_value=2**40) | st.floats(min_value=0, max_value=2e10),
    drift=st.integers(min_value=-20, max_value=20),
    window=st.integers(min_value=0, max_value=3),
    pick=st.integers(min_value=-3, max_value=3),
    algorithm=st.sampled_from(Algorithm),
    digits=st.integers(min_value=6, max_value=8),
)
def test_the_code_of_any_candidate_step_verifies_at_that_step(
    key: bytes,
    now: float,
    drift: int,
    window: int,
    pick: int,
    algorithm: Algorithm,
    digits: int,
) -> None:
    params = TotpParameters(algorithm=algorithm, digits=digits)
    current = params.step_at(now)
    candidates = [
        s for s in range(current + drift - window, current + drift + window + 1) if s >= 0
    ]
    if not candidates:
        return
    target = candidates[abs(pick) % len(candidates)]
    typed = params.code_at_step(key, target)
    match = verify_totp(params, key, typed, now=now, drift=drift, window=window)
    # Normally the target itself; a lower candidate wins only if it shows the same code.
    lowest = min(s for s in candidates if params.code_at_step(key, s) == typed)
    assert match == TotpMatch(step=lowest, drift=lowest - current)
    assert lowest == target or lowest < target
    with pytest.raises(ReplayedCode):
        verify_totp(params, key, typed, now=now, drift=drift, window=window, last_step=target)


# --- resync -----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-30, -2, 0, 3, 40])
def test_two_consecutive_codes_find_a_drifted_token(offset: int) -> None:
    s = STEP + offset
    match = find_resync_steps(PARAMS, KEY, code(s), code(s + 1), now=NOW, search=50)
    assert match == TotpMatch(step=s + 1, drift=offset + 1)


def test_resync_does_not_look_beyond_the_search_range() -> None:
    s = STEP + 60
    with pytest.raises(WrongCode):
        find_resync_steps(PARAMS, KEY, code(s), code(s + 1), now=NOW, search=50)


def test_resync_needs_the_codes_in_order() -> None:
    with pytest.raises(WrongCode):
        find_resync_steps(PARAMS, KEY, code(STEP + 1), code(STEP), now=NOW, search=10)


def test_resync_needs_consecutive_codes() -> None:
    with pytest.raises(WrongCode):
        find_resync_steps(PARAMS, KEY, code(STEP), code(STEP + 2), now=NOW, search=10)


def test_resync_with_an_already_accepted_first_code_is_a_replay() -> None:
    with pytest.raises(ReplayedCode):
        find_resync_steps(
            PARAMS, KEY, code(STEP + 5), code(STEP + 6), now=NOW, search=10, last_step=STEP + 5
        )


def test_resync_just_above_the_last_accepted_step_succeeds() -> None:
    match = find_resync_steps(
        PARAMS, KEY, code(STEP + 5), code(STEP + 6), now=NOW, search=10, last_step=STEP + 4
    )
    assert match == TotpMatch(step=STEP + 6, drift=6)


def test_resync_skips_steps_before_t0() -> None:
    match = find_resync_steps(PARAMS, KEY, code(0), code(1), now=45, search=10)
    assert match == TotpMatch(step=1, drift=0)


@pytest.mark.parametrize(("first", "second"), [("12345", "123456"), ("123456", "abcdef")])
def test_resync_with_malformed_codes_is_wrong(first: str, second: str) -> None:
    with pytest.raises(WrongCode):
        find_resync_steps(PARAMS, KEY, first, second, now=NOW, search=10)


def test_resync_with_a_negative_search_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="search"):
        find_resync_steps(PARAMS, KEY, code(STEP), code(STEP + 1), now=NOW, search=-1)


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
