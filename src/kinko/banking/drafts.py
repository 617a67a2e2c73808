"""What a payment is: the checked draft the customer confirms, the order one booking writes,
the receipt it leaves, and the statement lines it adds.

Pure values and rules; ``kinko.services.payments`` books them through the ledger port.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from kinko.banking.accounts import Account, AccountType, NewEntry
from kinko.banking.directory import branch_name
from kinko.banking.errors import RequestKeyReused
from kinko.banking.rules import MAX_AMOUNT, MIN_AMOUNT, OUR_BANK_CODE, transfer_fee
from kinko.domain.errors import InvalidInput
from kinko.domain.masking import mask
from kinko.domain.notices import Notice, NoticeKind
from kinko.domain.serials import normalize_digits

__all__ = [
    "Bill",
    "BillPaymentDraft",
    "Draft",
    "Order",
    "Payee",
    "PaymentKind",
    "Receipt",
    "TransferDraft",
    "new_receipt_number",
    "notice_of",
    "order_of",
    "receipt_number_as_typed",
    "receipt_of",
    "replayed",
    "statement_lines",
]

#: Receipt numbers carry the bank's own (Japan) date.
_JST = timezone(timedelta(hours=9), "JST")

#: A statement line's description is cut to what the statement column holds.
_DESCRIPTION_LENGTH = 60


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

    @property
    def account(self) -> tuple[str, str, AccountType, str]:
        """Which account this is (the name aside): a registered payee is saved once."""
        return (self.bank_code, self.branch_code, self.account_type, self.account_number)


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


Draft = TransferDraft | BillPaymentDraft


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
class Order:
    """What one booking writes, the same shape for transfers and bill payments."""

    kind: PaymentKind
    customer_id: int
    from_account_id: int
    amount: int
    fee: int
    payee: Payee | None = None
    bill: Bill | None = None

    @property
    def total(self) -> int:
        return self.amount + self.fee

    @property
    def description(self) -> str:
        """The paying account's statement line for the amount."""
        if self.payee is not None:
            return f"振込 {self.payee.kana}"
        if self.bill is not None:
            return f"収納 {self.bill.biller_name}"
        raise ValueError("an order needs a payee or a bill")  # pragma: no cover

    def is_recorded_by(self, receipt: Receipt) -> bool:
        """Whether ``receipt`` records this very order (a double submit, not a reused key).
        Names (of the bank, the biller) are looked up, not typed, and are left out."""
        return _fingerprint(self) == _fingerprint(receipt)


def _fingerprint(paid: Order | Receipt) -> tuple[object, ...]:
    payee, bill = paid.payee, paid.bill
    return (
        paid.kind, paid.customer_id, paid.from_account_id, paid.amount, paid.fee,
        None if payee is None else (payee.bank_code, payee.branch_code, payee.account_type,
                                    payee.account_number, payee.kana),
        None if bill is None else (bill.biller_number, bill.customer_number,
                                   bill.confirmation_number),
    )


def order_of(draft: Draft) -> Order:
    """The order a confirmed draft books. A draft is a plain dataclass: whoever built it,
    never move an amount out of range, and never charge a fee other than the fee."""
    if isinstance(draft, TransferDraft):
        order = Order(PaymentKind.TRANSFER, draft.customer_id, draft.from_account.id,
                      draft.amount, draft.fee, payee=draft.payee)
    else:
        order = Order(PaymentKind.BILL_PAYMENT, draft.customer_id, draft.from_account.id,
                      draft.amount, 0, bill=draft.bill)
    if not MIN_AMOUNT <= order.amount <= MAX_AMOUNT or order.fee < 0:
        raise InvalidInput("the amount is out of range")
    if order.payee is not None and order.fee != transfer_fee(order.payee.bank_code,
                                                             order.amount):
        raise InvalidInput("the transfer fee has changed; prepare the transfer again")
    return order


def replayed(receipt: Receipt, order: Order) -> Receipt:
    """The receipt of the payment a request key already made, if ``order`` is that payment
    again; RequestKeyReused if the key was another customer's or another payment's."""
    if receipt.customer_id != order.customer_id:
        raise RequestKeyReused("the request key belongs to another customer")
    if not order.is_recorded_by(receipt):
        raise RequestKeyReused("the request key was used for a different payment")
    return receipt


def new_receipt_number(kind: PaymentKind, now: datetime) -> str:
    """12 characters: T (振込) or P (Pay-easy), the Japan date as YYMMDD, 5 random digits."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    prefix = "T" if kind is PaymentKind.TRANSFER else "P"
    return f"{prefix}{now.astimezone(_JST):%y%m%d}{secrets.randbelow(100_000):05d}"


def receipt_number_as_typed(text: str) -> str:
    """A receipt number as a customer may type it (full-width, lower case, spaces, dashes)."""
    return normalize_digits(text).upper()


def statement_lines(order: Order, source: Account, target: Account | None, *,
                    debited: int, credited: int | None, now: datetime) -> list[NewEntry]:
    """The lines a booking adds: the amount and the fee (if any) out of the paying account,
    ``debited`` being its balance after both, and the amount into ``target`` (at our bank)."""
    lines = [(source.id, -order.amount, debited + order.fee, order.description)]
    if order.fee:
        lines.append((source.id, -order.fee, debited, "振込手数料"))
    if target is not None and credited is not None:
        lines.append((target.id, order.amount, credited, f"振込 {source.holder_kana}"))
    return [NewEntry(account_id, amount, balance_after, text[:_DESCRIPTION_LENGTH], now)
            for account_id, amount, balance_after, text in lines]


def receipt_of(order: Order, source: Account, *, receipt_number: str, balance_after: int,
               now: datetime) -> Receipt:
    """The receipt of a booking just made; the ledger rebuilds the same one later."""
    return Receipt(
        receipt_number=receipt_number, kind=order.kind, customer_id=order.customer_id,
        amount=order.amount, fee=order.fee, created_at=now, from_account_id=source.id,
        from_branch_name=source.branch_name, from_account_type=source.account_type,
        from_account_number=source.account_number, balance_after=balance_after,
        payee=order.payee, bill=order.bill,
    )


def notice_of(receipt: Receipt, contract_id: str) -> Notice:
    """The confirmation notice of a booked payment: what, how much, where to, with the
    account numbers masked but for their last three digits (a mail is no place for them)."""
    facts = [f"受付番号：{receipt.receipt_number}"]
    if receipt.payee is not None:
        p = receipt.payee
        branch = branch_name(p.bank_code, p.branch_code) or f"支店番号{p.branch_code}"
        facts += [f"振込先：{p.bank_name} {branch} {p.account_type.label} "
                  f"{mask(p.account_number, tail=3)}",
                  f"受取人名：{p.kana}",
                  f"振込金額：{receipt.amount:,}円",
                  f"振込手数料：{receipt.fee:,}円"]
        kind = NoticeKind.TRANSFER_ACCEPTED
    elif receipt.bill is not None:
        bill = receipt.bill
        facts += [f"収納機関：{bill.biller_name}（{bill.biller_number}）",
                  f"払込金額：{receipt.amount:,}円"]
        kind = NoticeKind.BILL_PAYMENT_ACCEPTED
    else:  # pragma: no cover - a receipt is of a transfer or of a bill payment
        raise ValueError("a receipt needs a payee or a bill")
    facts.append(f"支払口座：{receipt.from_branch_name} {receipt.from_account_type.label} "
                 f"{mask(receipt.from_account_number, tail=3)}")
    return Notice(kind, receipt.created_at, contract_id, facts=tuple(facts))
