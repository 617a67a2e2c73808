"""振込限度額: the customer's daily transfer limit, read and changed.

Lowering is free; raising needs the proof a transaction needs (``transactions.prove``: the
OTP, or the confirmation password for a customer without one), checked and spent before the
new limit is written. The booking enforces the limit (``services.payments``).
"""

from __future__ import annotations

from kinko.banking import limits
from kinko.banking.forms import daily_limit_form
from kinko.banking.limits import DailyLimit
from kinko.domain.errors import InvalidInput, NotFound
from kinko.domain.events import Action, Actor, Channel
from kinko.services import payments
from kinko.services.context import Context
from kinko.services.transactions import Proof, prove
from kinko.services.verification import audit

__all__ = ["ProofRequired", "change_daily_limit", "daily_limit"]

daily_limit = payments.daily_limit


class ProofRequired(InvalidInput):
    """Raising the limit needs the OTP (or the confirmation password); none was given."""

    code = "proof_required"


def change_daily_limit(ctx: Context, customer_id: int, typed: int | str,
                       proof: Proof | None = None, *,
                       channel: Channel = Channel.WEB) -> DailyLimit:
    """Set the customer's daily transfer limit to ``typed`` yen (as typed on the screen).

    FieldErrors for a malformed amount; ProofRequired when it raises the limit without a
    proof; WrongCode, WrongPassword, ... from ``prove`` (nothing changes). The customer is
    told by a notice, queued with the change.
    """
    new_limit = daily_limit_form(daily_limit=typed)
    old = payments.daily_limit(ctx, customer_id)
    if old.is_raised_by(new_limit):
        if proof is None:
            raise ProofRequired("raising the transfer limit needs the one-time password or "
                                "the confirmation password")
        prove(ctx, customer_id, proof, channel=channel)
    with ctx.uow() as uow:
        now = ctx.clock()
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise NotFound("no such customer")
        uow.ledger.set_daily_limit(customer_id, new_limit, now=now)
        audit(uow, now, Action.TRANSFER_LIMIT_CHANGED,
              Actor.customer(customer.contract_id, channel), contract_id=customer.contract_id,
              reason=f"{old.daily_limit}->{new_limit}")
        if customer.email:
            uow.outbox.enqueue(limits.notice_of_change(customer.contract_id, new_limit, now),
                               recipient=customer.email, recipient_name=customer.name)
        uow.commit()
    return payments.daily_limit(ctx, customer_id)
