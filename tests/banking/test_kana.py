"""Payee names as customers type them, turned into the half-width kana 全銀 carries."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinko.banking.kana import is_zengin_name, normalize_payee_name, to_half_width_katakana

# --- conversion -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("キンコ　ハナコ", "ｷﾝｺ ﾊﾅｺ"),           # full-width katakana, ideographic space
        ("ｷﾝｺ ﾊﾅｺ", "ｷﾝｺ ﾊﾅｺ"),                 # already half-width
        ("きんこ　はなこ", "ｷﾝｺ ﾊﾅｺ"),           # hiragana from the IME
        ("ヤマダ　ジロウ", "ﾔﾏﾀﾞ ｼﾞﾛｳ"),         # voiced: one full-width letter, two half
        ("パン", "ﾊﾟﾝ"),                         # semi-voiced
        ("ヴィラ", "ｳﾞｲﾗ"),                       # ヴ, small ィ made large
        ("ｶﾞｯｺｳ", "ｶﾞﾂｺｳ"),                      # half-width voiced pair and small ｯ
        ("キャッシュ", "ｷﾔﾂｼﾕ"),                 # 全銀 has no small kana
        ("ヵヶ", "ｶｹ"),                           # small ka/ke without a half-width form
        ("コーヒー", "ｺ-ﾋ-"),                    # 全銀 has no long-vowel mark: a hyphen
        ("ｺｰﾋｰ", "ｺ-ﾋ-"),                        # the same typed half-width
        ("カ）キンコ", "ｶ)ｷﾝｺ"),                  # 株式会社 abbreviated as 全銀 writes it
        ("（カ）キンコショウジ", "(ｶ)ｷﾝｺｼﾖｳｼﾞ"),
        ("ＡＢＣ　ｓｈｏｐ", "ABC SHOP"),          # full-width and lower-case letters
        ("abc co.", "ABC CO."),
        ("ユ－エス／１２３", "ﾕ-ｴｽ/123"),          # full-width hyphen, slash, digits
        ("  ｷﾝｺ   ﾊﾅｺ  ", "ｷﾝｺ ﾊﾅｺ"),             # spaces trimmed and collapsed
        ("ワ゛ハ゜", "ﾜﾞﾊﾟ"),                     # spacing voiced marks typed after a kana
        ("ｦﾝ", "ｦﾝ"),
    ],
)
def test_payee_names_are_stored_in_zengin_half_width_kana(typed: str, stored: str) -> None:
    assert normalize_payee_name(typed) == stored
    assert is_zengin_name(stored)


@pytest.mark.parametrize("typed", ["金庫 花子", "ヰセキ", "ヱビス", "ｷﾝｺ・ﾊﾅｺ", "KINKO@BANK",
                                   "ｷﾝｺ,ﾊﾅｺ", "ｷﾝｺ「ﾊﾅｺ」", "ｷﾝｺ ﾊﾅｺ!", "ÄBC"])
def test_names_with_characters_zengin_cannot_carry_are_refused(typed: str) -> None:
    assert not is_zengin_name(normalize_payee_name(typed))


def test_only_the_zengin_letters_digits_and_symbols_pass() -> None:
    assert is_zengin_name("ABCXYZ 0189 ().-/ ｦｱﾝﾞﾟ")
    for refused in "abc", "ｧ", "ｰ", "ｯ", "｡", "､", "･", "ア", "_", "\t":
        assert not is_zengin_name(refused), refused


# --- the half-width table ---------------------------------------------------------------------

#: Katakana with no half-width form at all (ヸ and ヹ are voiced ヰ and ヱ).
NO_HALF_WIDTH = set("ヰヱヮヵヶヸヹ")


def test_every_katakana_with_a_half_width_form_is_converted() -> None:
    for code in range(ord("ァ"), ord("ヺ") + 1):
        full = chr(code)
        half = to_half_width_katakana(full)
        if full in NO_HALF_WIDTH:
            assert half == full
        else:
            assert half != full, full
            assert all(0xFF61 <= ord(c) <= 0xFF9F for c in half), full
            assert unicodedata.normalize("NFKC", half) == full


def test_kana_punctuation_and_the_long_vowel_mark_have_half_width_forms() -> None:
    assert to_half_width_katakana("「ー」。、・") == "｢ｰ｣｡､･"


def test_only_katakana_are_touched_by_the_half_width_conversion() -> None:
    assert to_half_width_katakana("金庫ABC123 きんこ") == "金庫ABC123 きんこ"


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)
               | st.characters(min_codepoint=0x30A1, max_codepoint=0x30FC)))
def test_half_width_conversion_never_changes_what_the_text_says(text: str) -> None:
    assert (unicodedata.normalize("NFKC", to_half_width_katakana(text))
            == unicodedata.normalize("NFKC", text))


@given(st.text())
def test_normalising_a_stored_name_again_changes_nothing(text: str) -> None:
    once = normalize_payee_name(text)
    assert normalize_payee_name(once) == once
