"""Payee names (受取人名) in the form the 全銀 (Zengin) network carries: half-width katakana.

Customers type full- or half-width kana, hiragana, letters and digits; we keep the Zengin form.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "ZENGIN_NAME_LENGTH",
    "is_zengin_name",
    "normalize_payee_name",
    "to_half_width_katakana",
]

#: 全銀 carries 30 characters of payee name; a voiced mark (ﾞ, ﾟ) counts as one character.
ZENGIN_NAME_LENGTH = 30

_HALF_WIDTH_KANA = range(0xFF61, 0xFFA0)  # ｡ ｢ ｣ ､ ･ ｦ ｧ ... ﾝ ﾞ ﾟ
_VOICED_MARKS = ("\uff9e", "\uff9f")      # ﾞ ﾟ


def _full_to_half_table() -> dict[str, str]:
    """Full-width katakana (and kana punctuation) to half-width, derived from NFKC.

    unicodedata only goes from half- to full-width, so the table is built by running NFKC
    over every half-width character, alone and followed by each voiced mark: ｶﾞ gives ガ,
    so ガ maps back to ｶﾞ. Characters with no half-width form (ヰ, ヱ, ヸ, ヹ, ヵ, ヶ, ヮ)
    are absent.
    """
    table: dict[str, str] = {}
    for code in _HALF_WIDTH_KANA:
        half = chr(code)
        full = unicodedata.normalize("NFKC", half)
        table.setdefault(full, half)
        for mark in _VOICED_MARKS:
            composed = unicodedata.normalize("NFKC", half + mark)
            if len(composed) == 1:
                table.setdefault(composed, half + mark)
    return table


_TO_HALF = _full_to_half_table()

# 全銀 has no small kana and no long-vowel mark: banks send the large kana and a hyphen.
_ZENGIN_SPELLING = str.maketrans({
    "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ",
    "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ", "ッ": "ツ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ",
    "ー": "-",
})

_SPACING_MARKS = str.maketrans({"\u309b": "\u3099", "\u309c": "\u309a"})

_HIRAGANA = range(0x3041, 0x3097)          # ぁ .. ゖ
_HIRAGANA_TO_KATAKANA = 0x30A1 - 0x3041

_ZENGIN_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ().-/"
    + "\uff66"                                   # ｦ
    + "".join(chr(c) for c in range(0xFF71, 0xFFA0))  # ｱ .. ﾝ ﾞ ﾟ
)


def to_half_width_katakana(text: str) -> str:
    """Full-width katakana in ``text`` as half-width (ガ becomes ｶﾞ); everything else as is."""
    return "".join(_TO_HALF.get(char, char) for char in text)


def normalize_payee_name(text: str) -> str:
    """A payee name as typed, in 全銀 spelling: NFKC, hiragana to katakana, ASCII letters
    upper-cased, small kana made large, ー as "-", half-width katakana, single spaces.

    The result may still hold characters 全銀 cannot carry; check it with ``is_zengin_name``.
    """
    # A spacing voiced mark (゛ ゜) typed after a kana is meant to voice it: make it combining,
    # so that NFKC composes ワ゛ into ヷ rather than into "ワ ゙".
    text = unicodedata.normalize("NFKC", text.translate(_SPACING_MARKS))
    text = "".join(
        chr(ord(char) + _HIRAGANA_TO_KATAKANA) if ord(char) in _HIRAGANA
        else char.upper() if char.isascii()
        else char
        for char in text
    )
    text = to_half_width_katakana(text.translate(_ZENGIN_SPELLING))
    return " ".join(text.split())


def is_zengin_name(text: str) -> bool:
    """Whether ``text`` holds only what 全銀 carries: half-width kana, A-Z, 0-9, ().-/ and
    spaces (the length is checked separately)."""
    return all(char in _ZENGIN_CHARACTERS for char in text)
