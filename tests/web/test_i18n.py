"""Every Japanese text a customer can see has its English translation."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kinko.banking.errors import BankingError, FieldErrors
from kinko.services import payments
from kinko.web import i18n

WEB = Path(i18n.__file__).parent
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
TEMPLATE_TEXT = re.compile(r"""_\(\s*["']([^"']+)["']\s*\)""")


def japanese_literals() -> set[str]:
    found: set[str] = set()
    for path in WEB.rglob("*.py"):
        if path.name == "i18n.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and JAPANESE.search(node.value) and id(node) not in docstrings):
                found.add(node.value)
    for path in (WEB / "templates").rglob("*.html"):
        found |= set(TEMPLATE_TEXT.findall(path.read_text(encoding="utf-8")))
    return {text for text in found if JAPANESE.search(text)}


@pytest.mark.parametrize("text", sorted(japanese_literals()))
def test_each_screen_text_has_an_english_translation(text: str) -> None:
    assert text in i18n.EN, f"no English for {text!r}"


def test_banking_field_messages_have_english_translations() -> None:
    messages: set[str] = set()
    bad = {"from_account_id": "x", "bank_code": "12", "branch_code": "1",
           "account_type": "other", "account_number": "1", "payee_kana": "名前",
           "amount": "0"}
    with pytest.raises(FieldErrors) as caught:
        payments.prepare_transfer(None, 1, **bad)  # type: ignore[arg-type]
    messages |= set(caught.value.errors.values())
    with pytest.raises(FieldErrors) as caught:
        payments.prepare_bill_payment(None, 1, from_account_id="", biller_number="1",  # type: ignore[arg-type]
                                      customer_number="", confirmation_number="x",
                                      amount="abc")
    messages |= set(caught.value.errors.values())
    assert len(messages) >= 8
    for message in messages | {"残高が不足しています", "お振込先の口座が見つかりません"}:
        assert i18n.translate(message, "en") != message, message
    assert issubclass(BankingError, Exception)


def test_japanese_is_the_default_and_english_the_switch() -> None:
    assert i18n.translate("ログイン", "ja") == "ログイン"
    assert i18n.translate("ログイン", "en") == "Log in"
