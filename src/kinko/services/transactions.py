"""Proving a transaction: the OTP when the customer uses one, else the confirmation password.

``prove`` is the one place that decides which proof a transaction needs and checks it
(through ``verify_code`` or ``check_password``, which commit their outcome: a proof that was
checked stays spent whatever happens next). A customer whose token is locked or suspended
cannot fall back to the password. kinko's own payments (``services.payments``) record the
``transaction:authorized`` event with the booking; ``authorize`` records it alone, for a
transaction booked elsewhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from kinko.domain.errors import InvalidInput, NotFound
from kinko.domain.events import Action, Actor, Channel
from kinko.domain.model import PasswordKind
from kinko.domain.secrets import Code, Password
from kinko.services.context import Context
from kinko.services.credentials import check_password
from kinko.services.ports import UnitOfWork
from kinko.services.verification import audit, verify_code

#: What a customer proves a transaction with: the token's code or the confirmation password.
Proof = Code | Password


class Method(enum.StrEnum):
    OTP = "otp"
    CONFIRMATION_PASSWORD = "confirmation_password"


@dataclass(frozen=True)
class Authorized:
    """A transaction its customer proved, the proof checked and spent (``prove``)."""

    customer_id: int
    contract_id: str
    method: Method
    actor: Actor


def required_method(ctx: Context, customer_id: int) -> Method:
    """What the confirmation screen must ask for."""
    with ctx.uow() as uow:
        token = uow.tokens.bound_to(customer_id)
    return Method.OTP if token is not None else Method.CONFIRMATION_PASSWORD


def prove(ctx: Context, customer_id: int, proof: Proof, *,
          channel: Channel = Channel.WEB, purpose: str | None = None) -> Authorized:
    """Check the proof the customer's transactions need now, or raise (InvalidInput when it
    is the other kind). Its outcome is committed before this returns or raises; a code's
    check is audited with ``purpose`` (e.g. ``transfer``)."""
    return _prove(ctx, customer_id, code=proof if isinstance(proof, Code) else None,
                  confirmation_password=proof if isinstance(proof, Password) else None,
                  channel=channel, purpose=purpose)


def record_authorized(uow: UnitOfWork, now: datetime, authorized: Authorized, *,
                      purpose: str) -> None:
    """The ``transaction:authorized`` event (with its notice), in the caller's unit of work:
    ``purpose`` (e.g. ``transfer``) and the method are its reason."""
    audit(uow, now, Action.TRANSACTION_AUTHORIZED, authorized.actor,
          contract_id=authorized.contract_id,
          reason=f"{purpose}:{authorized.method.value}")


def authorize(
    ctx: Context,
    customer_id: int,
    *,
    purpose: str,
    code: Code | None = None,
    confirmation_password: Password | None = None,
    channel: Channel = Channel.WEB,
) -> Method:
    """Raise unless the customer proved a transaction booked elsewhere; ``purpose`` (e.g.
    ``transfer``) is recorded in the audit trail. The proof is spent even if the
    transaction then fails."""
    authorized = _prove(ctx, customer_id, code=code,
                        confirmation_password=confirmation_password, channel=channel,
                        purpose=purpose)
    with ctx.uow() as uow:
        record_authorized(uow, ctx.clock(), authorized, purpose=purpose)
        uow.commit()
    return authorized.method


def _prove(ctx: Context, customer_id: int, *, code: Code | None,
           confirmation_password: Password | None, channel: Channel,
           purpose: str | None) -> Authorized:
    with ctx.uow() as uow:
        customer = uow.customers.get(customer_id)
        token = uow.tokens.bound_to(customer_id)
    if customer is None:
        raise NotFound("no such customer")
    actor = Actor.customer(customer.contract_id, channel)
    if token is not None:
        if code is None:
            raise InvalidInput("a one-time password is required")
        verify_code(ctx, token.id, code, actor=actor, contract_id=customer.contract_id,
                    purpose=purpose)
        method = Method.OTP
    else:
        if confirmation_password is None:
            raise InvalidInput("the confirmation password is required")
        check_password(ctx, customer_id, PasswordKind.CONFIRMATION, confirmation_password,
                       actor=actor)
        method = Method.CONFIRMATION_PASSWORD
    return Authorized(customer_id, customer.contract_id, method, actor)
