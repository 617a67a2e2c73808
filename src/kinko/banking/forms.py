"""What the customer typed on the 振込 and 収納サービス input screens, checked all at once.

Every malformed input is named in one FieldErrors with a Japanese message for the screen;
digits may be full-width and carry spaces or hyphens, amounts may read "12,000円".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from kinko.banking.accounts import Account, AccountType
from kinko.banking.drafts import Bill, BillPaymentDraft, Payee, TransferDraft
from kinko.banking.errors import FieldErrors, UnknownBiller, UnknownPayee
from kinko.banking.kana import ZENGIN_NAME_LENGTH, is_zengin_name, normalize_payee_name
from kinko.banking.limits import MAX_DAILY_LIMIT
from kinko.banking.rules import (
    BANKS,
    BILLERS,
    MAX_AMOUNT,
    MIN_AMOUNT,
    OUR_BANK_CODE,
    check_covered,
    transfer_fee,
)
from kinko.domain.serials import normalize_digits

__all__ = ["BillPaymentForm", "TransferForm", "bill_payment_form", "daily_limit_form",
           "transfer_form"]

_T = TypeVar("_T")
_V = TypeVar("_V")


@dataclass(frozen=True)
class TransferForm:
    """A transfer as typed, checked: the paying account is still to be found."""

    from_account_id: int
    payee: Payee
    amount: int

    def named(self, kana: str) -> TransferForm:
        """This form with the payee's name as our bank's ledger has it (受取人名 is shown
        from the account for transfers inside the bank, not typed)."""
        return replace(self, payee=replace(self.payee, kana=kana))

    def draft(self, customer_id: int, source: Account) -> TransferDraft:
        """The draft from ``source`` (the customer's account with ``from_account_id``), its
        fee worked out; InsufficientFunds as an early warning (the booking checks again)."""
        fee = transfer_fee(self.payee.bank_code, self.amount)
        draft = TransferDraft(customer_id, source, self.payee, self.amount, fee)
        check_covered(source.balance, draft.total)
        return draft


@dataclass(frozen=True)
class BillPaymentForm:
    """A Pay-easy payment as typed, checked: the paying account is still to be found."""

    from_account_id: int
    bill: Bill
    amount: int

    def draft(self, customer_id: int, source: Account) -> BillPaymentDraft:
        """The draft from ``source``; InsufficientFunds as an early warning."""
        draft = BillPaymentDraft(customer_id, source, self.bill, self.amount)
        check_covered(source.balance, draft.total)
        return draft


def transfer_form(
    *,
    from_account_id: int | str,
    bank_code: str,
    branch_code: str,
    account_type: AccountType | str,
    account_number: str,
    payee_kana: str,
    amount: int | str,
) -> TransferForm:
    """Check a transfer as typed. Raises FieldErrors naming every malformed input, then
    UnknownPayee for a bank we do not transfer to. 受取人名 may be left empty for a payee at
    our bank (``TransferForm.named`` then gives the account holder's name)."""
    fields = _Fields()
    account_id = fields.parse("from_account_id", _account_id, from_account_id, 0)
    bank = fields.parse("bank_code", _BANK_CODE, bank_code, "")
    branch = fields.parse("branch_code", _BRANCH_CODE, branch_code, "")
    kind = fields.parse("account_type", _account_type, account_type, AccountType.ORDINARY)
    number = fields.parse("account_number", _ACCOUNT_NUMBER, account_number, "")
    name = ("" if bank == OUR_BANK_CODE and not normalize_payee_name(payee_kana)
            else fields.parse("payee_kana", _payee_name, payee_kana, ""))
    yen = fields.parse("amount", _amount, amount, 0)
    fields.raise_if_any()
    bank_name = BANKS.get(bank)
    if bank_name is None:
        raise UnknownPayee("transfers to this bank are not available",
                           errors={"bank_code": "この金融機関へのお振込はお取り扱いできません"})
    return TransferForm(account_id, Payee(bank, bank_name, branch, kind, number, name), yen)


def bill_payment_form(
    *,
    from_account_id: int | str,
    biller_number: str,
    customer_number: str,
    confirmation_number: str,
    amount: int | str,
) -> BillPaymentForm:
    """Check a Pay-easy payment as typed (収納機関番号, お客様番号, 確認番号, amount). Raises
    FieldErrors naming every malformed input, then UnknownBiller."""
    fields = _Fields()
    account_id = fields.parse("from_account_id", _account_id, from_account_id, 0)
    biller = fields.parse("biller_number", _BILLER_NUMBER, biller_number, "")
    number = fields.parse("customer_number", _CUSTOMER_NUMBER, customer_number, "")
    confirmation = fields.parse("confirmation_number", _CONFIRMATION_NUMBER,
                                confirmation_number, "")
    yen = fields.parse("amount", _amount, amount, 0)
    fields.raise_if_any()
    biller_name = BILLERS.get(biller)
    if biller_name is None:
        raise UnknownBiller("no such biller",
                            errors={"biller_number": "この収納機関番号はお取り扱いできません"})
    return BillPaymentForm(account_id, Bill(biller, biller_name, number, confirmation), yen)


# --- the parsers -------------------------------------------------------------------------------


class _Wrong(ValueError):
    """One input is malformed; the message is the Japanese text for the screen."""


class _Fields:
    """Collects every malformed input, so the screen can mark all of them at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def parse(self, field: str, parser: Callable[[_V], _T], value: _V, fallback: _T) -> _T:
        """``parser(value)``; if it is wrong, note why and go on with ``fallback``."""
        try:
            return parser(value)
        except _Wrong as wrong:
            self.errors[field] = str(wrong)
            return fallback

    def raise_if_any(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


def _digits(shortest: int, longest: int, message: str) -> Callable[[str], str]:
    """A parser for ``shortest``..``longest`` digits as typed (full-width, spaces, hyphens)."""

    def parse(value: str) -> str:
        digits = normalize_digits(value)
        if not shortest <= len(digits) <= longest or not (digits.isascii() and digits.isdigit()):
            raise _Wrong(message)
        return digits

    return parse


_BANK_CODE = _digits(4, 4, "金融機関コードは4桁の数字で入力してください")
_BRANCH_CODE = _digits(3, 3, "支店コードは3桁の数字で入力してください")
_ACCOUNT_NUMBER = _digits(7, 7, "口座番号は7桁の数字で入力してください")
_BILLER_NUMBER = _digits(5, 5, "収納機関番号は5桁の数字で入力してください")
_CUSTOMER_NUMBER = _digits(1, 20, "お客様番号は20桁以内の数字で入力してください")
_CONFIRMATION_NUMBER = _digits(1, 16, "確認番号は16桁以内の数字で入力してください")


def _account_id(value: int | str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        digits = normalize_digits(value)
        if digits.isascii() and digits.isdigit():
            return int(digits)
    raise _Wrong("出金口座を選択してください")


def _yen(value: int | str) -> int:
    """Yen as typed: 12000, "12,000", "１２，０００", "12,000円" or "¥12,000"."""
    if isinstance(value, bool):
        raise _Wrong("金額は数字で入力してください")
    if isinstance(value, int):
        return value
    text = "".join(unicodedata.normalize("NFKC", value).split()).replace(",", "")
    text = text.removeprefix("¥").removesuffix("円")
    if not text:
        raise _Wrong("金額を入力してください")
    if not (text.isascii() and text.isdigit()):
        raise _Wrong("金額は数字で入力してください")
    return int(text)


def _daily_limit(value: int | str) -> int:
    yen = _yen(value)
    if not 0 <= yen <= MAX_DAILY_LIMIT:
        raise _Wrong(f"振込限度額は0円以上{MAX_DAILY_LIMIT:,}円以下で入力してください")
    return yen


def daily_limit_form(*, daily_limit: int | str) -> int:
    """A new daily transfer limit as typed (0 stops transfers); FieldErrors if malformed."""
    fields = _Fields()
    yen = fields.parse("daily_limit", _daily_limit, daily_limit, 0)
    fields.raise_if_any()
    return yen


def _amount(value: int | str) -> int:
    """An amount to pay: yen as typed, within the one-payment bounds."""
    yen = _yen(value)
    if not MIN_AMOUNT <= yen <= MAX_AMOUNT:
        raise _Wrong(f"金額は{MIN_AMOUNT:,}円以上{MAX_AMOUNT:,}円以下で入力してください")
    return yen


def _account_type(value: AccountType | str) -> AccountType:
    if isinstance(value, AccountType):
        return value
    text = unicodedata.normalize("NFKC", value).strip()
    for kind in AccountType:
        if text in (kind.value, kind.label):
            return kind
    raise _Wrong("預金種目を選択してください")


def _payee_name(value: str) -> str:
    name = normalize_payee_name(value)
    if not name:
        raise _Wrong("受取人名を入力してください")
    if not is_zengin_name(name):
        raise _Wrong("受取人名はカナ・英大文字・数字・記号（）．－／で入力してください")
    if len(name) > ZENGIN_NAME_LENGTH:
        raise _Wrong(f"受取人名は半角{ZENGIN_NAME_LENGTH}文字以内で入力してください")
    return name
