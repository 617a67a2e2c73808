"""Token serial numbers (12 digits, Luhn-checked) and digit inputs as customers type them.

Serials, OTPs, contract IDs, account numbers and codes accept full-width digits, spaces,
hyphens and whatever a keyboard or an IME types for one (NFKC, then strip): one rule,
``normalize_digits``, for every input of digits.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable

from kinko.domain.errors import InvalidInput

__all__ = [
    "CONTRACT_ID_LENGTH",
    "SEPARATORS",
    "SERIAL_LENGTH",
    "format_serial",
    "is_valid_serial",
    "luhn_check_digit",
    "new_serial",
    "normalize_digits",
    "parse_code",
    "parse_contract_id",
    "parse_digits",
    "parse_serial",
]

SERIAL_LENGTH = 12
CONTRACT_ID_LENGTH = 10

# What customers type between digit groups, as it stands after NFKC: NFKC already turns the
# ideographic space (U+3000) and no-break space into " ", the full-width hyphen-minus
# (U+FF0D) and the small hyphen-minus (U+FE63) into "-", and the half-width prolonged sound
# mark "ｰ" (U+FF70) into "ー" (U+30FC). Hyphens and dashes U+2010..U+2015, the minus sign
# U+2212 and "ー" survive NFKC, so they are listed. "ー" is a kana letter, but it is what a
# Japanese IME types for "-" (the customer sees a dash), so between digits it is a separator.
SEPARATORS = frozenset(" \t-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc")
_ASCII_DIGITS = frozenset("0123456789")


def _is_ascii_digits(text: str) -> bool:
    return bool(text) and all(c in _ASCII_DIGITS for c in text)


def normalize_digits(text: str) -> str:
    """NFKC-normalise ``text`` and drop spaces, tabs, hyphens, dashes and their look-alikes
    (``SEPARATORS``: ー ｰ ‐ ‑ ‒ – — ― − － among them).

    The result may still hold non-digits; the ``parse_*`` functions validate it.
    """
    return "".join(c for c in unicodedata.normalize("NFKC", text) if c not in SEPARATORS)


def parse_digits(text: str, *, field: str, length: int) -> str:
    """``text`` normalised to exactly ``length`` ASCII digits, else InvalidInput naming ``field``.

    The message never repeats the input: it may be a one-time password.
    """
    digits = normalize_digits(text)
    if len(digits) != length or not _is_ascii_digits(digits):
        raise InvalidInput(f"{field} must be {length} digits")
    return digits


def luhn_check_digit(body: str) -> str:
    """The Luhn check digit to append to ``body`` (ASCII digits)."""
    if not _is_ascii_digits(body):
        raise InvalidInput("a Luhn body must be ASCII digits")
    total = 0
    # Walking from the right, the digit next to the (future) check digit is doubled first.
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_serial(serial: str) -> bool:
    """Whether ``serial`` is already 12 ASCII digits ending in a correct Luhn digit."""
    return (
        len(serial) == SERIAL_LENGTH
        and _is_ascii_digits(serial)
        and luhn_check_digit(serial[:-1]) == serial[-1]
    )


def parse_serial(text: str) -> str:
    """A serial as typed, normalised and checked: 12 digits with a valid Luhn check digit."""
    serial = parse_digits(text, field="serial", length=SERIAL_LENGTH)
    if luhn_check_digit(serial[:-1]) != serial[-1]:
        raise InvalidInput("serial check digit is wrong; please check the number")
    return serial


def parse_code(text: str, *, digits: int = 6) -> str:
    """A one-time password as typed, normalised to ``digits`` ASCII digits."""
    return parse_digits(text, field="code", length=digits)


def parse_contract_id(text: str) -> str:
    """A contract ID (契約者ID) as typed, normalised to 10 ASCII digits."""
    return parse_digits(text, field="contract ID", length=CONTRACT_ID_LENGTH)


def format_serial(serial: str) -> str:
    """Groups of four for display: "123456789012" becomes "1234 5678 9012"."""
    if len(serial) != SERIAL_LENGTH or not _is_ascii_digits(serial):
        raise InvalidInput(f"serial must be {SERIAL_LENGTH} digits")
    return " ".join(serial[i : i + 4] for i in range(0, SERIAL_LENGTH, 4))


def new_serial(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh random serial: 11 digits not starting with 0, then the Luhn digit.

    ``randbelow(n)`` must return an int in [0, n); tests pass a seeded one. Uniqueness is the
    store's job (a serial is never reused).
    """
    first = 10 ** (SERIAL_LENGTH - 2)
    choice = randbelow(9 * first)
    if not 0 <= choice < 9 * first:
        raise ValueError("randbelow returned a number out of range")
    body = str(first + choice)
    return body + luhn_check_digit(body)
