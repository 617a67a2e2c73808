"""Serial numbers, codes and contract IDs as customers type them (kinko.domain.serials)."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinko.domain.errors import InvalidInput
from kinko.domain.serials import (
    CONTRACT_ID_LENGTH,
    format_serial,
    is_valid_serial,
    luhn_check_digit,
    new_serial,
    normalize_digits,
    parse_code,
    parse_contract_id,
    parse_digits,
    parse_serial,
)

VALID_SERIAL = "123456789015"  # body 12345678901, Luhn digit 5

# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("１２３４５６", "123456"),
        ("１２３\u3000４５６", "123456"),
        ("123 456", "123456"),
        ("123\t456", "123456"),
        ("123-456", "123456"),
        ("１２３－４５６", "123456"),
        ("123\u00a0456", "123456"),
        ("123\u2010456", "123456"),
        ("123\u2011456", "123456"),
        ("123\u2012456", "123456"),
        ("123\u2013456", "123456"),
        ("123\u2014456", "123456"),
        ("123\u2015456", "123456"),
        ("123\u2212456", "123456"),
        ("123\u30fc456", "123456"),
        ("123\uff70456", "123456"),
        ("123\uff0d456", "123456"),
        ("１２３４ー５６７８ー９０１２", "123456789012"),
        (" 1234-5678 9012 ", "123456789012"),
    ],
    ids=[
        "full-width",
        "ideographic-space",
        "space",
        "tab",
        "hyphen-minus",
        "full-width-hyphen",
        "no-break-space",
        "hyphen",
        "non-breaking-hyphen",
        "figure-dash",
        "en-dash",
        "em-dash",
        "horizontal-bar",
        "minus-sign",
        "katakana-long-vowel-mark",
        "half-width-long-vowel-mark",
        "full-width-hyphen-minus",
        "ime-typed",
        "grouped",
    ],
)
def test_normalize_digits_accepts_what_customers_type(typed: str, normalised: str) -> None:
    assert normalize_digits(typed) == normalised


def test_the_katakana_long_vowel_mark_is_what_an_ime_types_for_a_hyphen() -> None:
    # A Japanese IME turns "-" into "ー" (U+30FC): between digits the customer means a dash.
    assert parse_code("123ー456") == "123456"
    assert parse_contract_id("10000ー00001") == "1000000001"
    assert parse_serial("1234ー5678ー9015") == VALID_SERIAL


#: Everything a customer may type between digit groups, dash look-alikes included.
DASH_LOOK_ALIKES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\uff0d\ufe63"


@given(
    groups=st.lists(st.text("0123456789０１２３４５６７８９", min_size=1, max_size=5),
                    min_size=1, max_size=5),
    separators=st.lists(st.text(DASH_LOOK_ALIKES + " \u3000\t", min_size=1, max_size=2),
                        min_size=5, max_size=5),
)
def test_any_dash_or_space_between_digit_groups_is_dropped(
    groups: list[str], separators: list[str]
) -> None:
    typed = "".join(g + s for g, s in zip(groups, separators, strict=False))
    expected = unicodedata.normalize("NFKC", "".join(groups))
    assert normalize_digits(typed) == expected


def test_normalize_digits_keeps_other_characters_for_the_caller_to_reject() -> None:
    assert normalize_digits("12a_4.5") == "12a_4.5"
    assert normalize_digits("12\n34") == "12\n34"


# --- parse_digits and friends -----------------------------------------------------------------


def test_parse_digits_returns_exactly_the_ascii_digits() -> None:
    assert parse_digits("０１２３ ４", field="PIN", length=5) == "01234"


@pytest.mark.parametrize(
    "typed",
    ["1234", "123456", "12a45", "12.45", "١٢٣٤٥", "１２３４ー", "ー", "", "+1234", "12\n345"],
)
def test_parse_digits_rejects_anything_but_the_exact_number_of_digits(typed: str) -> None:
    with pytest.raises(InvalidInput, match=r"^PIN must be 5 digits$"):
        parse_digits(typed, field="PIN", length=5)


def test_parse_code_accepts_full_width_and_separated_codes() -> None:
    assert parse_code("１２３ ４５６") == "123456"
    assert parse_code("1234-5678", digits=8) == "12345678"


def test_parse_code_names_the_code_and_its_length() -> None:
    with pytest.raises(InvalidInput, match=r"^code must be 6 digits$"):
        parse_code("12345")
    with pytest.raises(InvalidInput, match=r"^code must be 8 digits$"):
        parse_code("123456", digits=8)


def test_parse_contract_id_takes_ten_digits() -> None:
    assert CONTRACT_ID_LENGTH == 10
    assert parse_contract_id("０１２３４ ５６７８９") == "0123456789"
    with pytest.raises(InvalidInput, match=r"^contract ID must be 10 digits$"):
        parse_contract_id("012345678")


@pytest.mark.parametrize(
    ("parse", "typed"),
    [
        (parse_serial, "1234 5678 901X"),
        (parse_serial, "123456789012"),  # wrong check digit
        (parse_serial, "12345678901"),
        (parse_code, "98765"),
        (parse_code, "987ab6"),
        (parse_contract_id, "99999x9999"),
        (parse_contract_id, "99999999999"),
    ],
)
def test_error_messages_never_contain_the_input(parse: Callable[[str], str], typed: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(typed)
    message = str(caught.value)
    assert typed not in message
    assert normalize_digits(typed) not in message
    # no run of four or more of the typed digits leaks either
    digits = normalize_digits(typed)
    assert all(digits[i : i + 4] not in message for i in range(len(digits) - 3))


@given(st.text(max_size=20))
def test_parse_code_either_returns_six_ascii_digits_or_raises_without_echo(typed: str) -> None:
    try:
        parsed = parse_code(typed)
    except InvalidInput as error:
        assert str(error) == "code must be 6 digits"
    else:
        assert len(parsed) == 6
        assert all(c in "0123456789" for c in parsed)


# --- Luhn and serials -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["79927398713", "4111111111111111", "378282246310005", "6011111111111117", "00"]
)
def test_luhn_check_digit_matches_well_known_valid_numbers(number: str) -> None:
    assert luhn_check_digit(number[:-1]) == number[-1]


@pytest.mark.parametrize("body", ["", "12a", "１２３", " 12"])
def test_luhn_check_digit_needs_ascii_digits(body: str) -> None:
    with pytest.raises(InvalidInput):
        luhn_check_digit(body)


def test_luhn_catches_every_single_digit_typo() -> None:
    for position in range(12):
        for replacement in "0123456789":
            if replacement == VALID_SERIAL[position]:
                continue
            typo = VALID_SERIAL[:position] + replacement + VALID_SERIAL[position + 1 :]
            assert not is_valid_serial(typo)


def test_luhn_catches_adjacent_transpositions_of_different_digits() -> None:
    for i in range(11):
        a, b = VALID_SERIAL[i], VALID_SERIAL[i + 1]
        if a == b or {a, b} == {"0", "9"}:  # the one swap Luhn cannot see
            continue
        swapped = VALID_SERIAL[:i] + b + a + VALID_SERIAL[i + 2 :]
        assert not is_valid_serial(swapped)


@pytest.mark.parametrize(
    ("serial", "valid"),
    [
        (VALID_SERIAL, True),
        ("100000000008", True),
        ("999999999991", True),
        ("123456789012", False),
        ("12345678901", False),
        ("1234567890155", False),
        ("１２３４５６７８９０１５", False),
        ("1234 5678 9015", False),
    ],
)
def test_is_valid_serial_wants_twelve_ascii_digits_with_a_good_check_digit(
    serial: str, valid: bool
) -> None:
    assert is_valid_serial(serial) is valid


def test_parse_serial_normalises_full_width_and_grouped_input() -> None:
    assert parse_serial("１２３４\u3000５６７８\u3000９０１５") == VALID_SERIAL
    assert parse_serial("1234-5678-9015") == VALID_SERIAL
    assert parse_serial("1234 5678 9015") == VALID_SERIAL


def test_parse_serial_tells_a_wrong_length_from_a_wrong_check_digit() -> None:
    with pytest.raises(InvalidInput) as length:
        parse_serial("12345678901")
    with pytest.raises(InvalidInput) as check:
        parse_serial("123456789012")
    assert str(length.value) == "serial must be 12 digits"
    assert "check digit" in str(check.value)
    assert str(length.value) != str(check.value)


def test_format_serial_groups_digits_in_fours() -> None:
    assert format_serial("123456789012") == "1234 5678 9012"
    assert parse_serial(format_serial(VALID_SERIAL)) == VALID_SERIAL


@pytest.mark.parametrize("serial", ["12345678901", "1234567890123", "12345678901x", ""])
def test_format_serial_refuses_anything_but_twelve_digits(serial: str) -> None:
    with pytest.raises(InvalidInput):
        format_serial(serial)


def test_new_serial_is_always_twelve_digits_valid_and_without_a_leading_zero() -> None:
    rng = random.Random(20240601)
    serials = [new_serial(rng.randrange) for _ in range(2000)]
    for serial in serials:
        assert len(serial) == 12
        assert serial.isascii() and serial.isdigit()
        assert serial[0] != "0"
        assert is_valid_serial(serial)
        assert parse_serial(serial) == serial
    assert len(set(serials)) == len(serials)


@pytest.mark.parametrize(
    ("drawn", "serial"), [(0, "100000000008"), (9 * 10**10 - 1, "999999999991")]
)
def test_new_serial_covers_exactly_the_eleven_digit_bodies(drawn: int, serial: str) -> None:
    assert new_serial(lambda n: drawn) == serial


def test_new_serial_refuses_a_random_source_that_breaks_its_contract() -> None:
    with pytest.raises(ValueError, match="out of range"):
        new_serial(lambda n: n)


def test_new_serial_uses_the_system_random_source_by_default() -> None:
    assert is_valid_serial(new_serial())
