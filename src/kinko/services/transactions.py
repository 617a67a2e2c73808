"""Authorising a transfer or bill payment: the OTP when in use, else the confirmation password.

A customer whose token is locked or suspended cannot fall back to the password.
"""

from __future__ import annotations

import enum

from kinko.domain.errors import InvalidInput, NotFound
from kinko.domain.events import Action, Actor, Channel
from kinko.domain.model import PasswordKind
from kinko.domain.secrets import Code, Password
from kinko.services.context import Context
from kinko.services.credentials import check_password
from kinko.services.verification import audit, verify_code


class Method(enum.StrEnum):
    OTP = "otp"
    CONFIRMATION_PASSWORD = "confirmation_password"


def required_method(ctx: Context, customer_id: int) -> Method:
    """What the confirmation screen must ask for."""
    with ctx.uow() as uow:
        token = uow.tokens.bound_to(customer_id)
    return Method.OTP if token is not None else Method.CONFIRMATION_PASSWORD


def authorize(
    ctx: Context,
    customer_id: int,
    *,
    purpose: str,
    code: Code | None = None,
    confirmation_password: Password | None = None,
    channel: Channel = Channel.WEB,
) -> Method:
    """Raise unless the customer proved the transaction; ``purpose`` (e.g. ``transfer``) is
    recorded in the audit trail. The proof is spent even if the transaction then fails."""
    with ctx.uow() as uow:
        customer = uow.customers.get(customer_id)
        token = uow.tokens.bound_to(customer_id)
    if customer is None:
        raise NotFound("no such customer")
    actor = Actor.customer(customer.contract_id, channel)
    if token is not None:
        if code is None:
            raise InvalidInput("a one-time password is required")
        verify_code(ctx, token.id, code, actor=actor, contract_id=customer.contract_id)
        method = Method.OTP
    else:
        if confirmation_password is None:
            raise InvalidInput("the confirmation password is required")
        check_password(ctx, customer_id, PasswordKind.CONFIRMATION, confirmation_password,
                       actor=actor)
        method = Method.CONFIRMATION_PASSWORD
    with ctx.uow() as uow:
        audit(uow, ctx.clock(), Action.TRANSACTION_AUTHORIZED, actor,
              contract_id=customer.contract_id, reason=f"{purpose}:{method.value}")
        uow.commit()
    return method
