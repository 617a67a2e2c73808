"""Masked identifiers: the one rule notices and logs share."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinko.domain.masking import MIN_HIDDEN, mask, mask_contract_id, mask_serial


def test_a_contract_id_keeps_its_first_two_and_last_four_digits() -> None:
    assert mask_contract_id("1000000001") == "10****0001"


def test_a_serial_keeps_its_last_four_digits_in_display_groups() -> None:
    assert mask_serial("123456789012") == "**** **** 9012"


def test_a_value_too_short_to_hide_enough_is_hidden_whole() -> None:
    assert mask("123456", head=2, tail=4) == "******"
    assert mask("", head=2, tail=4) == ""


def test_negative_ends_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        mask("1000000001", head=-1, tail=4)


@given(st.text(max_size=40), st.integers(0, 6), st.integers(0, 6))
def test_a_mask_keeps_the_length_and_hides_at_least_four_characters(
    value: str, head: int, tail: int
) -> None:
    masked = mask(value, head=head, tail=tail)
    assert len(masked) == len(value)
    # Every character is either shown as it is or starred (a value may hold stars itself,
    # so the stars are counted by position, not by difference), and enough are starred.
    assert all(m in (v, "*") for m, v in zip(masked, value, strict=True))
    assert masked.count("*") >= min(MIN_HIDDEN, len(value))
    assert mask(value.replace("*", "x"), head=head, tail=tail).count("*") >= min(
        MIN_HIDDEN, len(value))
