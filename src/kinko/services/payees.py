"""登録振込先: the payees a customer saved, to start a transfer from one.

A payee is saved from one of the customer's own transfer receipts, so only an account the
customer already transferred to (and confirmed with the OTP or the password) is saved.
"""

from __future__ import annotations

from kinko.banking.drafts import Payee, receipt_number_as_typed
from kinko.banking.errors import BankingError, BookingClash
from kinko.banking.payees import MAX_SAVED_PAYEES, SavedPayee
from kinko.domain.errors import NotFound
from kinko.domain.events import Action, Actor, Channel
from kinko.domain.masking import mask
from kinko.services.context import Context
from kinko.services.ports import UnitOfWork
from kinko.services.verification import audit

__all__ = ["TooManyPayees", "add", "delete", "payee", "payees_of", "save_from_receipt"]


class TooManyPayees(BankingError):
    """The customer keeps the most payees there may be; delete one first."""

    code = "too_many_payees"


def payees_of(ctx: Context, customer_id: int) -> list[SavedPayee]:
    """The customer's saved payees, oldest first."""
    with ctx.uow() as uow:
        return list(uow.ledger.saved_payees(customer_id))


def payee(ctx: Context, customer_id: int, payee_id: int) -> SavedPayee:
    """One of the customer's saved payees; NotFound for another customer's."""
    with ctx.uow() as uow:
        found = uow.ledger.saved_payee(customer_id, payee_id)
    if found is None:
        raise NotFound("no such payee")
    return found


def _record(uow: UnitOfWork, ctx: Context, customer_id: int, action: Action, payee: Payee,
            channel: Channel) -> None:
    """Audit a saved or deleted payee: which account, masked, never the holder's name."""
    customer = uow.customers.get(customer_id)
    if customer is None:
        raise NotFound("no such customer")
    audit(uow, ctx.clock(), action, Actor.customer(customer.contract_id, channel),
          contract_id=customer.contract_id,
          reason=f"{payee.bank_code}-{payee.branch_code} {mask(payee.account_number, tail=3)}")


def save_from_receipt(ctx: Context, customer_id: int, receipt_number: str, *,
                      channel: Channel = Channel.WEB) -> SavedPayee:
    """Save the payee of one of the customer's transfers (the same account once).

    NotFound for a receipt that is not the customer's or not a transfer's; TooManyPayees.
    """
    for _ in range(2):  # a second attempt finds the row a concurrent save just committed
        try:
            with ctx.uow() as uow:
                receipt = uow.ledger.receipt(customer_id, receipt_number_as_typed(
                    receipt_number))
                if receipt is None or receipt.payee is None:
                    raise NotFound("no such transfer")
                saved = uow.ledger.saved_payees(customer_id)
                account = receipt.payee.account
                is_new = all(s.payee.account != account for s in saved)
                if is_new and len(saved) >= MAX_SAVED_PAYEES:
                    raise TooManyPayees("too many saved payees", errors={"payee": (
                        "登録できる振込先の数を超えています。不要な振込先を削除してください")})
                added = uow.ledger.save_payee(customer_id, receipt.payee, now=ctx.clock())
                if is_new:
                    _record(uow, ctx, customer_id, Action.PAYEE_SAVED, receipt.payee, channel)
                uow.commit()
                return added
        except BookingClash:
            continue
    raise RuntimeError("the payee could not be saved")  # pragma: no cover


def add(ctx: Context, customer_id: int, payee: Payee, *,
        channel: Channel = Channel.SYSTEM) -> SavedPayee:
    """Save a payee for the customer directly: for the demo and the bank's own systems
    (the customer saves one from a transfer, ``save_from_receipt``)."""
    with ctx.uow() as uow:
        saved = uow.ledger.save_payee(customer_id, payee, now=ctx.clock())
        _record(uow, ctx, customer_id, Action.PAYEE_SAVED, payee, channel)
        uow.commit()
    return saved


def delete(ctx: Context, customer_id: int, payee_id: int, *,
           channel: Channel = Channel.WEB) -> None:
    """Delete one of the customer's saved payees; NotFound for another customer's."""
    with ctx.uow() as uow:
        found = uow.ledger.saved_payee(customer_id, payee_id)
        if found is None or not uow.ledger.delete_payee(customer_id, payee_id):
            raise NotFound("no such payee")
        _record(uow, ctx, customer_id, Action.PAYEE_DELETED, found.payee, channel)
        uow.commit()

