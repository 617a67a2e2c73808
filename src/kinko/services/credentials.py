"""Checking the login and confirmation passwords, each with its own counter and lock.

Wrong passwords never touch the token; a locked password needs bank staff.

The lock holds under concurrency because an attempt is *claimed* before the slow hash: one
conditional UPDATE counts it as a failure, only while the password is unlocked and fewer
than the limit are counted, so no more than ``max_password_failures`` guesses are ever
checked between two successes however many arrive at once. A right password then clears
the count, but only if no concurrent attempt has locked the password meanwhile.

At the login form a locked password, a wrong one and an unknown contract ID cost the same
work (one hash) and read the same; the lock is told only to someone who gave the right
password (and at the confirmation password, to a customer who is signed in anyway).
"""

from __future__ import annotations

import logging
import time

from kinko.domain.errors import NotFound, PasswordLocked, WrongPassword
from kinko.domain.events import Action, Actor, Channel, Outcome
from kinko.domain.masking import mask_contract_id
from kinko.domain.model import Customer, PasswordKind
from kinko.domain.secrets import Password
from kinko.domain.serials import parse_contract_id
from kinko.logs import FIELDS
from kinko.services import throttle
from kinko.services.context import Context
from kinko.services.verification import audit

log = logging.getLogger(__name__)

#: The audit reason (and log outcome) of a login for a contract ID that does not exist.
UNKNOWN_CONTRACT = "unknown_contract"

_ACTIONS = {
    PasswordKind.LOGIN: Action.LOGIN_PASSWORD_CHECKED,
    PasswordKind.CONFIRMATION: Action.CONFIRMATION_PASSWORD_CHECKED,
}


def check_password(
    ctx: Context, customer_id: int, kind: PasswordKind, password: Password, *, actor: Actor
) -> Customer:
    """Verify one of the customer's passwords, counting a failure; returns the customer."""
    started = time.perf_counter()
    limit = ctx.policy.max_password_failures
    with ctx.uow() as uow:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise NotFound("no such customer")
        claimed = uow.customers.claim_password_attempt(customer.id, kind, limit=limit)
        uow.commit()
    stored_hash = customer.password(kind).hash
    # Outside any transaction: argon2 is slow on purpose. A refused attempt is hashed too,
    # so that a locked password takes as long to answer as a wrong one.
    matched = ctx.hasher.verify(stored_hash, password)
    now = ctx.clock()
    action, contract_id = _ACTIONS[kind], customer.contract_id
    with ctx.uow() as uow:
        if claimed and matched and uow.customers.settle_password_success(customer.id, kind):
            if ctx.hasher.needs_rehash(stored_hash):
                uow.customers.set_password_hash(customer.id, kind, ctx.hasher.hash(password))
            audit(uow, now, action, actor, contract_id=contract_id)
            uow.commit()
            _decided(kind, "accepted", contract_id, actor, started)
            return customer
        locked_now = claimed and not matched and uow.customers.settle_password_failure(
            customer.id, kind, limit=limit, now=now)
        error = _refusal(kind, matched=matched, claimed=claimed, locked_now=locked_now)
        reason = error.code if claimed else PasswordLocked.code
        audit(uow, now, action, actor, outcome=Outcome.FAILURE, contract_id=contract_id,
              reason=reason)
        if locked_now:
            audit(uow, now, Action.PASSWORD_LOCKED, actor, contract_id=contract_id,
                  reason=kind.value)
        uow.commit()
    _decided(kind, reason, contract_id, actor, started, locked_now=locked_now)
    raise error


def _decided(kind: PasswordKind, outcome: str, contract_id: str, actor: Actor, started: float,
             *, locked_now: bool = False) -> None:
    """One password decision in the log: debug when accepted, info when refused; the
    outcome is the audit event's reason. Never the password."""
    level = logging.DEBUG if outcome == "accepted" else logging.INFO
    if log.isEnabledFor(level):
        log.log(level, "password %s", "accepted" if outcome == "accepted" else "refused",
                extra={FIELDS: {
                    "kind": kind.value, "outcome": outcome,
                    "contract_id": mask_contract_id(contract_id),
                    "channel": actor.channel.value, "locked_now": locked_now,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3)}})


def _refusal(
    kind: PasswordKind, *, matched: bool, claimed: bool, locked_now: bool
) -> WrongPassword | PasswordLocked:
    """What a refused attempt is told. A right password refused is refused for a lock (or
    for concurrent attempts that may be about to lock it): say so. A wrong one hears of the
    lock only at the confirmation password, whose customer is signed in already: at the
    login form it would tell a guesser that the contract ID exists."""
    if matched or (kind is PasswordKind.CONFIRMATION and (locked_now or not claimed)):
        return PasswordLocked()
    return WrongPassword()


def authenticate(
    ctx: Context, contract_id: str, login_password: Password, *, channel: Channel,
    actor: Actor | None = None, client_address: str | None = None,
) -> Customer:
    """契約者ID + ログインパスワード: the first step of login and of every OTP flow.

    Each attempt first counts against the contract ID's rate limit and, when the caller
    knows it, the client address's (``RateLimited``): the 5-try lock stops guessing one
    contract's password, these stop trying one password across many contracts. An unknown
    contract ID fails exactly like a wrong password, and takes as long. The audit events
    name ``actor``: by default the customer on ``channel``; a bank system's front end passes
    its own API client.
    """
    contract_id = parse_contract_id(contract_id)
    limits = [(f"login:contract:{contract_id}", ctx.policy.login_per_contract)]
    if client_address is not None:
        limits.append((f"login:address:{client_address}", ctx.policy.login_per_address))
    throttle.admit(ctx, *limits)
    actor = actor or Actor.customer(contract_id, channel)
    started = time.perf_counter()
    with ctx.uow() as uow:
        customer = uow.customers.by_contract_id(contract_id)
    if customer is None:
        ctx.hasher.dummy_verify(login_password)
        with ctx.uow() as uow:
            audit(uow, ctx.clock(), Action.LOGIN_PASSWORD_CHECKED, actor,
                  outcome=Outcome.FAILURE, contract_id=contract_id, reason=UNKNOWN_CONTRACT)
            uow.commit()
        _decided(PasswordKind.LOGIN, UNKNOWN_CONTRACT, contract_id, actor, started)
        raise WrongPassword()
    return check_password(ctx, customer.id, PasswordKind.LOGIN, login_password, actor=actor)
