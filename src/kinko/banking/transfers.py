"""振込 (transfers) and 収納サービス (Pay-easy bill payments) on the IB's own ledger.

``prepare_*`` checks what the customer typed; ``execute_*`` moves the money once per request key.
"""

from __future__ import annotations

import enum
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import TypeVar

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinko.banking.errors import (
    BankingError,
    FieldErrors,
    InsufficientFunds,
    RequestKeyReused,
    SameAccount,
    UnknownAccount,
    UnknownBiller,
    UnknownPayee,
)
from kinko.banking.kana import ZENGIN_NAME_LENGTH, is_zengin_name, normalize_payee_name
from kinko.banking.ledger import Account, AccountType, account_from_row
from kinko.domain.errors import InvalidInput, NotFound
from kinko.domain.serials import normalize_digits
from kinko.store.rows import AccountRow, LedgerEntryRow, TransferRow

__all__ = [
    "BANKS",
    "BILLERS",
    "MAX_AMOUNT",
    "MIN_AMOUNT",
    "OTHER_BANK_FEE",
    "OUR_BANK_CODE",
    "OUR_BANK_NAME",
    "BankingError",
    "Bill",
    "BillPaymentDraft",
    "Entry",
    "FieldErrors",
    "InsufficientFunds",
    "Payee",
    "PaymentKind",
    "Receipt",
    "RequestKeyReused",
    "SameAccount",
    "TransferDraft",
    "UnknownAccount",
    "UnknownBiller",
    "UnknownPayee",
    "execute_bill_payment",
    "execute_transfer",
    "prepare_bill_payment",
    "prepare_transfer",
    "receipt",
    "recent_entries",
    "seed_demo_history",
    "transfer_fee",
]

OUR_BANK_CODE = "1234"
OUR_BANK_NAME = "きんこ信用金庫"

#: The banks the IB transfers to (金融機関コード → name); a small stand-in for the 全銀 list.
BANKS: Mapping[str, str] = MappingProxyType({
    "0001": "みずほ銀行",
    "0005": "三菱ＵＦＪ銀行",
    "0009": "三井住友銀行",
    "0010": "りそな銀行",
    OUR_BANK_CODE: OUR_BANK_NAME,
    "1235": "さくら信用金庫",
})

#: The billers (収納機関番号 → name) whose Pay-easy bills the IB accepts.
BILLERS: Mapping[str, str] = MappingProxyType({
    "12345": "きんこ電力",
    "23456": "きんこガス",
    "34567": "きんこ市水道局",
})

#: 振込手数料 to another bank, whatever the amount; transfers within our bank are free.
OTHER_BANK_FEE = 330

#: One transfer or payment, in yen.
MIN_AMOUNT = 1
MAX_AMOUNT = 10_000_000

#: Receipt numbers carry the bank's own (Japan) date.
_JST = timezone(timedelta(hours=9), "JST")

#: How often a freshly drawn receipt number may turn out to be taken before we give up.
_RECEIPT_ATTEMPTS = 8

_REQUEST_KEY_LENGTH = 64
_DESCRIPTION_LENGTH = 60


def transfer_fee(bank_code: str, amount: int) -> int:
    """振込手数料 in yen: nothing within our bank, ``OTHER_BANK_FEE`` to any other bank.

    ``amount`` is there for the day the schedule gets an amount tier (e.g. 3万円以上).
    """
    del amount  # one flat fee for now
    return 0 if bank_code == OUR_BANK_CODE else OTHER_BANK_FEE


# --- what the screens show ----------------------------------------------------------------------


class PaymentKind(enum.StrEnum):
    TRANSFER = "transfer"          # 振込
    BILL_PAYMENT = "bill_payment"  # 収納サービス (Pay-easy)


@dataclass(frozen=True)
class Payee:
    """Where a transfer goes, as checked: digits normalised, the name in 全銀 half-width kana."""

    bank_code: str
    bank_name: str
    branch_code: str
    account_type: AccountType
    account_number: str
    kana: str

    @property
    def is_our_bank(self) -> bool:
        return self.bank_code == OUR_BANK_CODE


@dataclass(frozen=True)
class Bill:
    """A Pay-easy bill: the biller and the numbers printed on the customer's slip."""

    biller_number: str
    biller_name: str
    customer_number: str
    confirmation_number: str


@dataclass(frozen=True)
class TransferDraft:
    """A checked transfer waiting for the customer's confirmation (OTP or password)."""

    customer_id: int
    from_account: Account
    payee: Payee
    amount: int
    fee: int

    @property
    def total(self) -> int:
        return self.amount + self.fee


@dataclass(frozen=True)
class BillPaymentDraft:
    """A checked bill payment waiting for the customer's confirmation; bills carry no fee."""

    customer_id: int
    from_account: Account
    bill: Bill
    amount: int

    @property
    def fee(self) -> int:
        return 0

    @property
    def total(self) -> int:
        return self.amount


@dataclass(frozen=True)
class Receipt:
    """What the completion page (and any later look-up) shows for one transfer or payment."""

    receipt_number: str
    kind: PaymentKind
    customer_id: int
    amount: int
    fee: int
    created_at: datetime
    from_account_id: int
    from_branch_name: str
    from_account_type: AccountType
    from_account_number: str
    balance_after: int  # of the paying account, right after this payment
    payee: Payee | None = None  # transfers
    bill: Bill | None = None    # bill payments

    @property
    def total(self) -> int:
        return self.amount + self.fee


@dataclass(frozen=True)
class Entry:
    """One line of an account's statement (入出金明細): negative amounts are withdrawals."""

    id: int
    account_id: int
    amount: int
    balance_after: int
    description: str
    created_at: datetime
    receipt_number: str | None  # when the entry belongs to a transfer or payment


# --- checking what the customer typed -----------------------------------------------------------

_T = TypeVar("_T")
_V = TypeVar("_V")


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


def _amount(value: int | str) -> int:
    """Yen as typed: 12000, "12,000", "１２，０００", "12,000円" or "¥12,000"."""
    if isinstance(value, bool):
        raise _Wrong("金額は数字で入力してください")
    if isinstance(value, int):
        yen = value
    else:
        text = "".join(unicodedata.normalize("NFKC", value).split()).replace(",", "")
        text = text.removeprefix("¥").removesuffix("円")
        if not text:
            raise _Wrong("金額を入力してください")
        if not (text.isascii() and text.isdigit()):
            raise _Wrong("金額は数字で入力してください")
        yen = int(text)
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


def prepare_transfer(
    engine: Engine,
    customer_id: int,
    *,
    from_account_id: int | str,
    bank_code: str,
    branch_code: str,
    account_type: AccountType | str,
    account_number: str,
    payee_kana: str,
    amount: int | str,
) -> TransferDraft:
    """Check a transfer as typed on the screen and work out its fee.

    Raises FieldErrors naming every malformed input, then UnknownPayee, UnknownAccount,
    SameAccount or InsufficientFunds (an early warning: execution checks the balance again).
    """
    fields = _Fields()
    account_id = fields.parse("from_account_id", _account_id, from_account_id, 0)
    bank = fields.parse("bank_code", _BANK_CODE, bank_code, "")
    branch = fields.parse("branch_code", _BRANCH_CODE, branch_code, "")
    kind = fields.parse("account_type", _account_type, account_type, AccountType.ORDINARY)
    number = fields.parse("account_number", _ACCOUNT_NUMBER, account_number, "")
    name = fields.parse("payee_kana", _payee_name, payee_kana, "")
    yen = fields.parse("amount", _amount, amount, 0)
    fields.raise_if_any()

    bank_name = BANKS.get(bank)
    if bank_name is None:
        raise UnknownPayee("transfers to this bank are not available",
                           errors={"bank_code": "この金融機関へのお振込はお取り扱いできません"})
    payee = Payee(bank, bank_name, branch, kind, number, name)
    fee = transfer_fee(bank, yen)
    with Session(engine) as session:
        source = _own_account(session, customer_id, account_id)
        if payee.is_our_bank:
            _payee_account(session, payee, source)
        draft = TransferDraft(customer_id, account_from_row(source), payee, yen, fee)
    _check_covered(draft.from_account.balance, draft.total)
    return draft


def prepare_bill_payment(
    engine: Engine,
    customer_id: int,
    *,
    from_account_id: int | str,
    biller_number: str,
    customer_number: str,
    confirmation_number: str,
    amount: int | str,
) -> BillPaymentDraft:
    """Check a Pay-easy payment as typed (収納機関番号, お客様番号, 確認番号, amount).

    Raises FieldErrors naming every malformed input, then UnknownBiller, UnknownAccount or
    InsufficientFunds (an early warning: execution checks the balance again).
    """
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
    with Session(engine) as session:
        source = account_from_row(_own_account(session, customer_id, account_id))
    draft = BillPaymentDraft(customer_id, source, Bill(biller, biller_name, number, confirmation),
                             yen)
    _check_covered(draft.from_account.balance, draft.total)
    return draft


def _own_account(session: Session, customer_id: int, account_id: int) -> AccountRow:
    row = session.execute(
        select(AccountRow).where(AccountRow.id == account_id,
                                 AccountRow.customer_id == customer_id)
    ).scalar_one_or_none()
    if row is None:
        raise UnknownAccount("the paying account is not the customer's",
                             errors={"from_account_id": "出金口座を選択してください"})
    return row


def _payee_account(session: Session, payee: Payee, source: AccountRow) -> AccountRow:
    """The account at our bank that ``payee`` names, which must not be ``source`` itself."""
    row = session.execute(
        select(AccountRow).where(AccountRow.branch_code == payee.branch_code,
                                 AccountRow.account_type == payee.account_type.value,
                                 AccountRow.account_number == payee.account_number)
    ).scalar_one_or_none()
    if row is None:
        raise UnknownPayee("no such account at our bank",
                           errors={"account_number": "お振込先の口座が見つかりません"})
    if row.id == source.id:
        raise SameAccount("an account cannot pay into itself",
                          errors={"account_number": "出金口座と同じ口座にはお振込できません"})
    return row


def _check_covered(balance: int, total: int) -> None:
    if balance < total:
        raise _insufficient()


def _insufficient() -> InsufficientFunds:
    return InsufficientFunds("the balance does not cover the amount and the fee",
                             errors={"amount": "残高が不足しています"})


# --- moving the money -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Order:
    """What one execution writes, the same shape for transfers and bill payments."""

    kind: PaymentKind
    customer_id: int
    from_account_id: int
    amount: int
    fee: int
    payee: Payee | None
    bill: Bill | None

    def matches(self, row: TransferRow) -> bool:
        """Whether ``row`` records this very order (a double submit, not a reused key)."""
        return _fingerprint(row) == (
            self.kind.value, self.customer_id, self.from_account_id, self.amount, self.fee,
            self.payee.bank_code if self.payee else None,
            self.payee.branch_code if self.payee else None,
            self.payee.account_type.value if self.payee else None,
            self.payee.account_number if self.payee else None,
            self.payee.kana if self.payee else None,
            self.bill.biller_number if self.bill else None,
            self.bill.customer_number if self.bill else None,
            self.bill.confirmation_number if self.bill else None,
        )


def _fingerprint(row: TransferRow) -> tuple[object, ...]:
    return (row.kind, row.customer_id, row.from_account_id, row.amount, row.fee,
            row.payee_bank_code, row.payee_branch_code, row.payee_account_type,
            row.payee_account_number, row.payee_kana, row.biller_number, row.customer_number,
            row.confirmation_number)


def execute_transfer(
    engine: Engine, draft: TransferDraft, *, request_key: str, now: datetime
) -> Receipt:
    """Carry out a confirmed transfer in one database transaction, once per ``request_key``.

    Debits amount and fee (two statement lines), and credits the payee when the account is
    at our bank. Calling again with the same key, even at the same moment from another
    process, returns the first receipt and moves nothing. Raises InsufficientFunds (nothing
    written), RequestKeyReused, or InvalidInput when the draft's fee is no longer the fee.
    """
    order = _Order(PaymentKind.TRANSFER, draft.customer_id, draft.from_account.id,
                   draft.amount, draft.fee, draft.payee, None)
    return _execute(engine, order, request_key=request_key, now=now)


def execute_bill_payment(
    engine: Engine, draft: BillPaymentDraft, *, request_key: str, now: datetime
) -> Receipt:
    """Pay a confirmed Pay-easy bill in one database transaction, once per ``request_key``.

    The same guarantees as ``execute_transfer``; bill payments carry no fee.
    """
    order = _Order(PaymentKind.BILL_PAYMENT, draft.customer_id, draft.from_account.id,
                   draft.amount, 0, None, draft.bill)
    return _execute(engine, order, request_key=request_key, now=now)


def _execute(engine: Engine, order: _Order, *, request_key: str, now: datetime) -> Receipt:
    _check_request_key(request_key)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    # A draft is a plain dataclass: whoever built it, never move a negative amount.
    if not MIN_AMOUNT <= order.amount <= MAX_AMOUNT or order.fee < 0:
        raise InvalidInput("the amount is out of range")
    for _ in range(_RECEIPT_ATTEMPTS):
        try:
            with Session(engine) as session, session.begin():
                # A resubmit after the first one finished finds its key here.
                existing = _by_request_key(session, request_key)
                if existing is not None:
                    return _replay(session, existing, order)
                return _write(session, order, request_key, _new_receipt_number(order.kind, now),
                              now)
        except IntegrityError:
            # Either another call with this key committed between our look-up and our insert
            # (PostgreSQL lets both get that far; the loser's whole transaction, debit
            # included, is rolled back), or the random receipt number was taken.
            with Session(engine) as session:
                existing = _by_request_key(session, request_key)
                if existing is not None:
                    return _replay(session, existing, order)
    raise RuntimeError("no free receipt number after several attempts")


def _check_request_key(request_key: str) -> None:
    if (not 0 < len(request_key) <= _REQUEST_KEY_LENGTH
            or not (request_key.isascii() and request_key.isprintable())):
        raise InvalidInput(f"a request key is 1 to {_REQUEST_KEY_LENGTH} printable ASCII "
                           "characters")


def _new_receipt_number(kind: PaymentKind, now: datetime) -> str:
    """12 characters: T (振込) or P (Pay-easy), the Japan date as YYMMDD, 5 random digits."""
    prefix = "T" if kind is PaymentKind.TRANSFER else "P"
    return f"{prefix}{now.astimezone(_JST):%y%m%d}{secrets.randbelow(100_000):05d}"


def _by_request_key(session: Session, request_key: str) -> TransferRow | None:
    return session.execute(
        select(TransferRow).where(TransferRow.request_key == request_key)
    ).scalar_one_or_none()


def _replay(session: Session, row: TransferRow, order: _Order) -> Receipt:
    """The receipt of the payment this request key already made."""
    if row.customer_id != order.customer_id:
        raise RequestKeyReused("the request key belongs to another customer")
    if not order.matches(row):
        raise RequestKeyReused("the request key was used for a different payment")
    return _load_receipt(session, row)


def _write(
    session: Session, order: _Order, request_key: str, receipt_number: str, now: datetime
) -> Receipt:
    payee, bill = order.payee, order.bill
    if payee is not None and order.fee != transfer_fee(payee.bank_code, order.amount):
        raise InvalidInput("the transfer fee has changed; prepare the transfer again")
    source = _own_account(session, order.customer_id, order.from_account_id)
    target = _payee_account(session, payee, source) if (
        payee is not None and payee.is_our_bank) else None
    transfer = TransferRow(
        receipt_number=receipt_number, customer_id=order.customer_id,
        from_account_id=source.id, kind=order.kind.value, amount=order.amount, fee=order.fee,
        payee_bank_code=payee.bank_code if payee else None,
        payee_bank_name=payee.bank_name if payee else None,
        payee_branch_code=payee.branch_code if payee else None,
        payee_account_type=payee.account_type.value if payee else None,
        payee_account_number=payee.account_number if payee else None,
        payee_kana=payee.kana if payee else None,
        biller_number=bill.biller_number if bill else None,
        biller_name=bill.biller_name if bill else None,
        customer_number=bill.customer_number if bill else None,
        confirmation_number=bill.confirmation_number if bill else None,
        request_key=request_key, created_at=now,
    )
    session.add(transfer)
    session.flush()  # a taken request key or receipt number fails here, before any money moves

    # Lock the two accounts in id order, so that transfers crossing between the same two
    # accounts in opposite directions cannot deadlock on PostgreSQL.
    credited: int | None = None
    if target is not None and target.id < source.id:
        credited = _credit(session, target.id, order.amount)
    debited = _debit(session, source.id, order.amount + order.fee)
    if target is not None and credited is None:
        credited = _credit(session, target.id, order.amount)

    if payee is not None:
        description = f"振込 {payee.kana}"
    elif bill is not None:
        description = f"収納 {bill.biller_name}"
    else:  # pragma: no cover - an order is always one or the other
        raise ValueError("an order needs a payee or a bill")
    lines = [(source.id, -order.amount, debited + order.fee, description)]
    if order.fee:
        lines.append((source.id, -order.fee, debited, "振込手数料"))
    if target is not None and credited is not None:
        lines.append((target.id, order.amount, credited, f"振込 {source.holder_kana}"))
    session.add_all(
        LedgerEntryRow(account_id=account_id, transfer_id=transfer.id, amount=amount,
                       balance_after=balance_after,
                       description=text[:_DESCRIPTION_LENGTH], created_at=now)
        for account_id, amount, balance_after, text in lines
    )
    session.flush()
    return _receipt_of(transfer, source, debited)


def _debit(session: Session, account_id: int, total: int) -> int:
    """Take ``total`` from the account in one statement that cannot overdraw; the new balance."""
    balance = session.execute(
        update(AccountRow)
        .where(AccountRow.id == account_id, AccountRow.balance >= total)
        .values(balance=AccountRow.balance - total)
        .returning(AccountRow.balance)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if balance is None:
        raise _insufficient()  # the caller's transaction rolls back: nothing is written
    return int(balance)


def _credit(session: Session, account_id: int, amount: int) -> int:
    balance = session.execute(
        update(AccountRow)
        .where(AccountRow.id == account_id)
        .values(balance=AccountRow.balance + amount)
        .returning(AccountRow.balance)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return int(balance)


def _receipt_of(row: TransferRow, source: AccountRow, balance_after: int) -> Receipt:
    # The columns are NULL only for the other kind; "" never reaches a receipt.
    payee: Payee | None = None
    bill: Bill | None = None
    if row.kind == PaymentKind.TRANSFER:
        payee = Payee(row.payee_bank_code or "", row.payee_bank_name or "",
                      row.payee_branch_code or "", AccountType(row.payee_account_type or ""),
                      row.payee_account_number or "", row.payee_kana or "")
    else:
        bill = Bill(row.biller_number or "", row.biller_name or "", row.customer_number or "",
                    row.confirmation_number or "")
    return Receipt(
        receipt_number=row.receipt_number, kind=PaymentKind(row.kind),
        customer_id=row.customer_id, amount=row.amount, fee=row.fee,
        created_at=row.created_at, from_account_id=source.id,
        from_branch_name=source.branch_name, from_account_type=AccountType(source.account_type),
        from_account_number=source.account_number, balance_after=balance_after,
        payee=payee, bill=bill,
    )


def _load_receipt(session: Session, row: TransferRow) -> Receipt:
    source = session.get_one(AccountRow, row.from_account_id)
    balance_after = session.execute(
        select(LedgerEntryRow.balance_after)
        .where(LedgerEntryRow.transfer_id == row.id,
               LedgerEntryRow.account_id == row.from_account_id)
        .order_by(LedgerEntryRow.id.desc())
        .limit(1)
    ).scalar_one()
    return _receipt_of(row, source, balance_after)


# --- reading ------------------------------------------------------------------------------------


def receipt(engine: Engine, customer_id: int, receipt_number: str) -> Receipt:
    """One of the customer's receipts; NotFound for unknown numbers and other customers' ones."""
    number = unicodedata.normalize("NFKC", receipt_number).strip().upper()
    with Session(engine) as session:
        row = session.execute(
            select(TransferRow).where(TransferRow.receipt_number == number,
                                      TransferRow.customer_id == customer_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound("no such receipt")
        return _load_receipt(session, row)


def recent_entries(engine: Engine, account_id: int, limit: int = 20) -> list[Entry]:
    """The account's newest statement lines, newest first.

    The caller has already checked that the account is the customer's (``accounts_of``).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    with Session(engine) as session:
        rows = session.execute(
            select(LedgerEntryRow, TransferRow.receipt_number)
            .outerjoin(TransferRow, LedgerEntryRow.transfer_id == TransferRow.id)
            .where(LedgerEntryRow.account_id == account_id)
            .order_by(LedgerEntryRow.id.desc())
            .limit(limit)
        ).all()
        return [_entry(entry, number) for entry, number in rows]


def _entry(row: LedgerEntryRow, receipt_number: str | None) -> Entry:
    return Entry(row.id, row.account_id, row.amount, row.balance_after, row.description,
                 row.created_at, receipt_number)


# --- demo -----------------------------------------------------------------------------------------

#: A month of an ordinary account, oldest first: (days ago, hour in Japan, yen, description).
_DEMO_HISTORY = (
    (34, 10, 245_000, "給与 ｶ)ｷﾝｺｼﾖｳｼﾞ"),
    (30, 12, -30_000, "ATM"),
    (22, 9, -8_460, "収納 きんこ電力"),
    (15, 9, -4_120, "収納 きんこガス"),
    (9, 18, -20_000, "ATM"),
    (4, 10, 245_000, "給与 ｶ)ｷﾝｺｼﾖｳｼﾞ"),
    (2, 9, -3_300, "収納 きんこ市水道局"),
)


def seed_demo_history(engine: Engine, account_id: int, now: datetime) -> list[Entry]:
    """Give a demo account a month of plausible statement lines (給与, ATM, 公共料金) that end
    at its current balance, which stays as it is.

    Balances are worked out backwards from today's; lines that would need the account to
    have been overdrawn are left out. Does nothing (returns []) if the account already has
    statement lines, so it can be run again safely.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(_JST).replace(minute=0, second=0, microsecond=0)
    with Session(engine) as session, session.begin():
        account = session.get(AccountRow, account_id)
        if account is None:
            raise NotFound("no such account")
        has_lines = session.execute(
            select(func.count()).select_from(LedgerEntryRow)
            .where(LedgerEntryRow.account_id == account_id)
        ).scalar_one()
        if has_lines:
            return []
        kept: list[LedgerEntryRow] = []
        balance = account.balance
        for days, hour, amount, description in reversed(_DEMO_HISTORY):
            if balance - amount < 0:
                break
            at = (today - timedelta(days=days)).replace(hour=hour)
            kept.append(LedgerEntryRow(account_id=account_id, transfer_id=None, amount=amount,
                                       balance_after=balance, description=description,
                                       created_at=at))
            balance -= amount
        for row in reversed(kept):  # oldest first, so that id order is time order
            session.add(row)
            session.flush()
        return [_entry(row, None) for row in sorted(kept, key=lambda r: r.id, reverse=True)]
