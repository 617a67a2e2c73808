"""Behaviour of kinko.domain.otp beyond the RFC vectors: windows, drift, replay, resync."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinko.domain.errors import InvalidInput, ReplayedCode, WrongCode
from kinko.domain.otp import (
    Algorithm,
    TotpMatch,
    TotpParameters,
    find_resync_steps,
    hotp,
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
