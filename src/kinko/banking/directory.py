"""The banks and branches the IB transfers to (金融機関コード, 支店コード), and finding them by
name, reading or code: a small bundled stand-in for the 全銀 bank and branch list.

The table holds what the demo and the tests use; a bank's production system would load the
full list. Pure: searching is a scan of the table.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from kinko.banking.kana import normalize_payee_name
from kinko.domain.serials import normalize_digits

__all__ = [
    "DIRECTORY",
    "OUR_BANK_CODE",
    "OUR_BANK_NAME",
    "Bank",
    "Branch",
    "bank",
    "branch_name",
    "search_banks",
    "search_branches",
]

OUR_BANK_CODE = "1234"
OUR_BANK_NAME = "きんこ信用金庫"


@dataclass(frozen=True)
class Branch:
    code: str     # 支店コード, 3 digits
    name: str
    reading: str  # in 全銀 half-width kana, for a search typed in kana


@dataclass(frozen=True)
class Bank:
    code: str     # 金融機関コード, 4 digits
    name: str
    reading: str
    branches: tuple[Branch, ...]

    def branch(self, code: str) -> Branch | None:
        return next((b for b in self.branches if b.code == code), None)


DIRECTORY: tuple[Bank, ...] = (
    Bank("0001", "みずほ銀行", "ﾐｽﾞﾎ", (
        Branch("001", "東京営業部", "ﾄｳｷﾖｳ"),
        Branch("110", "新宿支店", "ｼﾝｼﾞﾕｸ"),
        Branch("251", "横浜支店", "ﾖｺﾊﾏ"),
    )),
    Bank("0005", "三菱ＵＦＪ銀行", "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ", (
        Branch("001", "本店", "ﾎﾝﾃﾝ"),
        Branch("135", "渋谷支店", "ｼﾌﾞﾔ"),
        Branch("251", "大阪営業部", "ｵｵｻｶ"),
    )),
    Bank("0009", "三井住友銀行", "ﾐﾂｲｽﾐﾄﾓ", (
        Branch("123", "東京中央支店", "ﾄｳｷﾖｳﾁﾕｳｵｳ"),
        Branch("221", "品川支店", "ｼﾅｶﾞﾜ"),
        Branch("401", "神戸営業部", "ｺｳﾍﾞ"),
    )),
    Bank("0010", "りそな銀行", "ﾘｿﾅ", (
        Branch("101", "東京営業部", "ﾄｳｷﾖｳ"),
        Branch("340", "さいたま営業部", "ｻｲﾀﾏ"),
    )),
    Bank(OUR_BANK_CODE, OUR_BANK_NAME, "ｷﾝｺｼﾝﾖｳｷﾝｺ", (
        Branch("001", "本店営業部", "ﾎﾝﾃﾝ"),
        Branch("002", "駅前支店", "ｴｷﾏｴ"),
        Branch("003", "港支店", "ﾐﾅﾄ"),
    )),
    Bank("1235", "さくら信用金庫", "ｻｸﾗｼﾝﾖｳｷﾝｺ", (
        Branch("001", "本店", "ﾎﾝﾃﾝ"),
        Branch("012", "桜町支店", "ｻｸﾗﾏﾁ"),
    )),
)

_BY_CODE = {b.code: b for b in DIRECTORY}


def bank(code: str) -> Bank | None:
    """The bank with 金融機関コード ``code``, if the IB transfers to it."""
    return _BY_CODE.get(code)


def branch_name(bank_code: str, branch_code: str) -> str | None:
    """The branch's name when the table knows it (for display only)."""
    found = bank(bank_code)
    branch = None if found is None else found.branch(branch_code)
    return None if branch is None else branch.name


def _matches(query: str, *, code: str, name: str, reading: str) -> bool:
    """Whether ``query`` (as typed: full-width, hiragana, katakana, dashes) starts the code,
    or is part of the name or of its reading."""
    text = unicodedata.normalize("NFKC", query).strip()
    if not text:
        return True
    digits = normalize_digits(text)
    if digits.isascii() and digits.isdigit():
        return code.startswith(digits)
    if text in unicodedata.normalize("NFKC", name):
        return True
    kana = normalize_payee_name(text).replace(" ", "")
    return bool(kana) and kana in reading


def search_banks(query: str) -> list[Bank]:
    """The banks whose code starts with ``query`` or whose name or reading contains it;
    every bank for an empty query."""
    return [b for b in DIRECTORY
            if _matches(query, code=b.code, name=b.name, reading=b.reading)]


def search_branches(bank_code: str, query: str) -> list[Branch]:
    """The branches of the bank ``bank_code`` matching ``query`` as ``search_banks`` does."""
    found = bank(bank_code)
    if found is None:
        return []
    return [b for b in found.branches
            if _matches(query, code=b.code, name=b.name, reading=b.reading)]
