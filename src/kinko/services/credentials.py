"""Checking the login and confirmation passwords, each with its own counter and lock.

Wrong passwords never touch the token; a locked password needs bank staff.
"""

from __future__ import annotations

from kinko.domain.errors import NotFound, PasswordLocked, WrongPassword
from kinko.domain.events import Action, Actor, Channel, Outcome
from kinko.domain.model import Customer, PasswordKind
from kinko.domain.secrets import Password
from kinko.domain.serials import parse_contract_id
from kinko.services.context import Context
from kinko.services.verification import audit

_ACTIONS = {
    PasswordKind.LOGIN: Action.LOGIN_PASSWORD_CHECKED,
    PasswordKind.CONFIRMATION: Action.CONFIRMATION_PASSWORD_CHECKED,
}


def check_password(
    ctx: Context, customer_id: int, kind: PasswordKind, password: Password, *, actor: Actor
) -> Customer:
    """Verify one of the customer's passwords, counting a failure; returns the customer."""
    with ctx.uow() as uow:
        customer = uow.customers.get(customer_id)
    if customer is None:
        raise NotFound("no such customer")
    state = customer.password(kind)
    # The hash is checked outside any transaction: argon2 is slow on purpose, and the
    # counter update below is atomic on its own.
    matched = not state.locked and ctx.hasher.verify(state.hash, password)
    now = ctx.clock()
    with ctx.uow() as uow:
        contract_id = customer.contract_id
        if state.locked:
            audit(uow, now, _ACTIONS[kind], actor, outcome=Outcome.FAILURE,
                  contract_id=contract_id, reason=PasswordLocked.code)
            uow.commit()
            raise PasswordLocked()
        if not matched:
            _, locked = uow.customers.record_password_failure(
                customer.id, kind, limit=ctx.policy.max_password_failures, now=now
            )
            error = PasswordLocked() if locked else WrongPassword()
            audit(uow, now, _ACTIONS[kind], actor, outcome=Outcome.FAILURE,
                  contract_id=contract_id, reason=error.code)
            if locked:
                audit(uow, now, Action.PASSWORD_LOCKED, actor, contract_id=contract_id,
                      reason=kind.value)
            uow.commit()
            raise error
        if state.failures:
            uow.customers.reset_password_failures(customer.id, kind)
        if ctx.hasher.needs_rehash(state.hash):
            uow.customers.set_password_hash(customer.id, kind, ctx.hasher.hash(password))
        audit(uow, now, _ACTIONS[kind], actor, contract_id=contract_id)
        uow.commit()
    return customer


def authenticate(
    ctx: Context, contract_id: str, login_password: Password, *, channel: Channel,
    actor: Actor | None = None,
) -> Customer:
    """契約者ID + ログインパスワード: the first step of login and of every OTP flow.

    An unknown contract ID fails exactly like a wrong password, and takes as long. The audit
    events name ``actor``: by default the customer on ``channel``; a bank system's front end
    passes its own API client.
    """
    contract_id = parse_contract_id(contract_id)
    actor = actor or Actor.customer(contract_id, channel)
    with ctx.uow() as uow:
        customer = uow.customers.by_contract_id(contract_id)
    if customer is None:
        ctx.hasher.dummy_verify(login_password)
        with ctx.uow() as uow:
            audit(uow, ctx.clock(), Action.LOGIN_PASSWORD_CHECKED, actor,
                  outcome=Outcome.FAILURE, contract_id=contract_id, reason="unknown_contract")
            uow.commit()
        raise WrongPassword()
    return check_password(ctx, customer.id, PasswordKind.LOGIN, login_password, actor=actor)
