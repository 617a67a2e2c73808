"""振込 (transfers) and 収納サービス (Pay-easy bill payments): prepare a draft from what the
customer typed, then ``confirm`` it with the OTP or the confirmation password.

``confirm`` is the whole use case: it checks the proof the customer's transactions need
(``transactions.prove``, committed by itself, so a checked code stays spent even if the
booking then fails) and books the payment with its ``transaction:authorized`` event in ONE
unit of work, once per request key: a second confirmation with the same key returns the
first receipt and pays nothing, even when both arrive at once.

The booking is also where the daily transfer limit (振込限度額, ``banking.limits``) holds:
it claims the customer's limit, counts the day's transfers and refuses one that passes it.
Every booked payment queues its confirmation notice to the customer in the same unit of
work (the outbox): the mail goes if and only if the payment commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kinko.banking import drafts, limits, rules
from kinko.banking.drafts import (
    BillPaymentDraft,
    Draft,
    Order,
    PaymentKind,
    Receipt,
    TransferDraft,
)
from kinko.banking.errors import BookingClash, UnknownAccount
from kinko.banking.forms import bill_payment_form, transfer_form
from kinko.banking.kana import normalize_payee_name
from kinko.banking.limits import DEFAULT_DAILY_LIMIT, DailyLimit
from kinko.domain.errors import NotFound
from kinko.domain.events import Channel
from kinko.services.context import Context
from kinko.services.ports import Ledger, UnitOfWork
from kinko.services.transactions import Authorized, Proof, prove, record_authorized

__all__ = ["book", "confirm", "daily_limit", "prepare", "prepare_bill_payment",
           "prepare_transfer", "receipt"]

#: How often a booking may find its freshly drawn receipt number taken before giving up.
_BOOKING_ATTEMPTS = 8


# --- preparing ---------------------------------------------------------------------------------


def prepare_transfer(ctx: Context, customer_id: int, **typed: Any) -> TransferDraft:
    """Check a transfer as typed on the screen (see ``banking.forms.transfer_form`` for the
    fields) and work out its fee.

    A payee at our bank is named by its account: the customer need not type 受取人名, and
    the draft carries the account holder's name for the customer to confirm.

    Raises FieldErrors naming every malformed input, then UnknownPayee, UnknownAccount,
    SameAccount, InsufficientFunds or TransferLimitExceeded (early warnings: the booking
    checks the balance and the limit again).
    """
    form = transfer_form(**typed)
    with ctx.uow() as uow:
        source = rules.own_account(uow.ledger.account_of(customer_id, form.from_account_id))
        payee = form.payee
        if payee.is_our_bank:
            target = rules.payee_account(uow.ledger.account_at(
                payee.branch_code, payee.account_type, payee.account_number), source)
            form = form.named(normalize_payee_name(target.holder_kana))
        limit = _daily_limit(uow.ledger, customer_id, ctx.clock())
    limits.check_within(limit, form.amount)
    return form.draft(customer_id, source)


def daily_limit(ctx: Context, customer_id: int) -> DailyLimit:
    """The customer's daily transfer limit and what today's transfers used of it."""
    with ctx.uow() as uow:
        return _daily_limit(uow.ledger, customer_id, ctx.clock())


def _daily_limit(ledger: Ledger, customer_id: int, now: datetime) -> DailyLimit:
    limit = ledger.daily_limit(customer_id)
    return DailyLimit(DEFAULT_DAILY_LIMIT if limit is None else limit,
                      ledger.transferred_since(customer_id, limits.day_start(now)))


def prepare_bill_payment(ctx: Context, customer_id: int, **typed: Any) -> BillPaymentDraft:
    """Check a Pay-easy payment as typed (収納機関番号, お客様番号, 確認番号, amount).

    Raises FieldErrors naming every malformed input, then UnknownBiller, UnknownAccount or
    InsufficientFunds (an early warning: the booking checks the balance again).
    """
    form = bill_payment_form(**typed)
    with ctx.uow() as uow:
        source = rules.own_account(uow.ledger.account_of(customer_id, form.from_account_id))
    return form.draft(customer_id, source)


def prepare(ctx: Context, customer_id: int, kind: PaymentKind, typed: dict[str, Any]) -> Draft:
    """``prepare_transfer`` or ``prepare_bill_payment``, as ``kind`` says."""
    if kind is PaymentKind.TRANSFER:
        return prepare_transfer(ctx, customer_id, **typed)
    return prepare_bill_payment(ctx, customer_id, **typed)


# --- confirming and booking --------------------------------------------------------------------


def confirm(ctx: Context, customer_id: int, draft: Draft, proof: Proof, *, request_key: str,
            channel: Channel = Channel.WEB) -> Receipt:
    """Carry out the customer's confirmed draft, once per ``request_key``.

    A request key that already paid this very draft returns that receipt without asking
    for the proof again (the customer submitted the same confirmation twice). Otherwise the
    proof is checked and spent (WrongCode, WrongPassword, InvalidInput for the other kind of
    proof, ...: nothing is booked), then the payment is booked (``book``). Raises
    RequestKeyReused for a key of another customer or payment, InsufficientFunds (the proof
    stays spent, nothing is booked), UnknownAccount for another customer's draft.
    """
    order = _order(customer_id, draft, request_key)
    with ctx.uow() as uow:
        paid = uow.ledger.by_request_key(request_key)
    if paid is not None:
        return drafts.replayed(paid, order)
    authorized = prove(ctx, customer_id, proof, channel=channel, purpose=order.kind.value)
    return _book(ctx, order, authorized, request_key)


def book(ctx: Context, draft: Draft, authorized: Authorized, *, request_key: str) -> Receipt:
    """Book a draft its customer proved (``transactions.prove``): the payment, its money
    moved and its statement lines, and the ``transaction:authorized`` event, in one unit of
    work, once per ``request_key``.

    Debits amount and fee (two statement lines) and credits the payee when the account is at
    our bank. Calling again with the same key, even at the same moment from another process,
    returns the first receipt and moves nothing. A transfer must fit in what is left of the
    customer's daily limit, counted after claiming it, so that two transfers at once cannot
    together pass it. Queues the customer's confirmation notice. Raises InsufficientFunds or
    TransferLimitExceeded (nothing written), RequestKeyReused, UnknownAccount, UnknownPayee,
    SameAccount, or InvalidInput when the draft's amount is out of range or its fee is no
    longer the fee.
    """
    return _book(ctx, _order(authorized.customer_id, draft, request_key), authorized,
                 request_key)


def _order(customer_id: int, draft: Draft, request_key: str) -> Order:
    rules.check_request_key(request_key)
    order = drafts.order_of(draft)
    if order.customer_id != customer_id:
        raise UnknownAccount("the draft is another customer's",
                             errors={"from_account_id": "出金口座を選択してください"})
    return order


def _book(ctx: Context, order: Order, authorized: Authorized, request_key: str) -> Receipt:
    for _ in range(_BOOKING_ATTEMPTS):
        try:
            with ctx.uow() as uow:
                done = _write(uow, ctx, order, authorized, request_key)
                uow.commit()
                return done
        except BookingClash:
            # Either another booking with this key committed between our look-up and our
            # insert (PostgreSQL lets both get that far; the loser's whole unit of work,
            # debit included, is rolled back), or the random receipt number was taken, or
            # another booking created the customer's limit row first.
            with ctx.uow() as uow:
                paid = uow.ledger.by_request_key(request_key)
            if paid is not None:
                return drafts.replayed(paid, order)
    raise RuntimeError("no free receipt number after several attempts")


def _write(uow: UnitOfWork, ctx: Context, order: Order, authorized: Authorized,
           request_key: str) -> Receipt:
    ledger = uow.ledger
    paid = ledger.by_request_key(request_key)  # a resubmit after the first one finished
    if paid is not None:
        return drafts.replayed(paid, order)
    source = rules.own_account(ledger.account_of(order.customer_id, order.from_account_id))
    target = None
    if order.payee is not None and order.payee.is_our_bank:
        payee = order.payee
        target = rules.payee_account(
            ledger.account_at(payee.branch_code, payee.account_type, payee.account_number),
            source)
    now = ctx.clock()
    if order.kind is PaymentKind.TRANSFER:
        claimed = ledger.claim_daily_limit(order.customer_id, default=DEFAULT_DAILY_LIMIT,
                                           now=now)
        limits.check_within(
            DailyLimit(claimed, ledger.transferred_since(order.customer_id,
                                                         limits.day_start(now))),
            order.amount)
    number = drafts.new_receipt_number(order.kind, now)
    payment_id = ledger.add_payment(order, request_key=request_key, receipt_number=number,
                                    now=now)
    moved = ledger.move(debit=source.id, total=order.total,
                        credit=None if target is None else target.id, amount=order.amount)
    if moved is None:
        raise rules.insufficient_funds()  # the unit of work rolls back: nothing is written
    ledger.add_entries(drafts.statement_lines(order, source, target, debited=moved.debited,
                                              credited=moved.credited, now=now),
                       payment_id=payment_id)
    record_authorized(uow, now, authorized, purpose=order.kind.value)
    done = drafts.receipt_of(order, source, receipt_number=number,
                             balance_after=moved.debited, now=now)
    customer = uow.customers.get(order.customer_id)
    if customer is not None and customer.email:
        uow.outbox.enqueue(drafts.notice_of(done, customer.contract_id),
                           recipient=customer.email, recipient_name=customer.name)
    return done


# --- reading -----------------------------------------------------------------------------------


def receipt(ctx: Context, customer_id: int, receipt_number: str) -> Receipt:
    """One of the customer's receipts; NotFound for unknown numbers and other customers'."""
    with ctx.uow() as uow:
        found = uow.ledger.receipt(customer_id, drafts.receipt_number_as_typed(receipt_number))
    if found is None:
        raise NotFound("no such receipt")
    return found
