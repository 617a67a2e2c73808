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
from collections.abc import Callable
from dataclasses import dataclass

from kinko.domain.errors import NotFound, PasswordLocked, WrongPassword
from kinko.domain.events import Action, Actor, Channel, Outcome
from kinko.domain.masking import mask_contract_id
from kinko.domain.model import Customer, PasswordKind
from kinko.domain.secrets import Password
from kinko.domain.serials import parse_contract_id
from kinko.logs import FIELDS
from kinko.services import throttle
from kinko.services.context import Context
from kinko.services.ports import PasswordCounter, UnitOfWork
from kinko.services.verification import audit

log = logging.getLogger(__name__)

#: The audit reason (and log outcome) of a login for a contract ID that does not exist.
UNKNOWN_CONTRACT = "unknown_contract"

_ACTIONS = {
    PasswordKind.LOGIN: Action.LOGIN_PASSWORD_CHECKED,
    PasswordKind.CONFIRMATION: Action.CONFIRMATION_PASSWORD_CHECKED,
}


@dataclass(frozen=True)
class Weighed:
    """How one password attempt went (``weigh``)."""

    #: The password is the stored one.
    matched: bool
    #: The attempt was counted before the hash; False when the password was locked, or
    #: ``limit`` attempts were already counted or under way.
    claimed: bool
    #: This attempt's failure locked the password.
    locked_now: bool

    @property
    def accepted(self) -> bool:
        """Right, counted, and nothing locked the password meanwhile."""
        return self.matched and self.claimed and not self.locked_now


def weigh(
    ctx: Context, counter: Callable[[UnitOfWork], PasswordCounter], stored_hash: str,
    password: Password, *, record: Callable[[UnitOfWork, Weighed], None],
) -> Weighed:
    """THE rule of a password attempt, for customers' and staff members' passwords alike:
    claim it (counted as a failure) before the slow hash, then settle it. ``record`` audits
    the outcome in the transaction that settles it.

    Argon2 runs outside any transaction, and runs for a refused attempt too, so that a
    locked password takes as long to answer as a wrong one.
    """
    limit = ctx.policy.max_password_failures
    with ctx.uow() as uow:
        claimed = counter(uow).claim(limit=limit)
        uow.commit()
    matched = ctx.hasher.verify(stored_hash, password)
    with ctx.uow() as uow:
        settled = counter(uow)
        locked_now = False
        if claimed and matched:
            locked_now = not settled.settle_success()  # locked meanwhile by another attempt
        elif claimed:
            locked_now = settled.settle_failure(limit=limit, now=ctx.clock())
        weighed = Weighed(matched=matched, claimed=claimed, locked_now=locked_now)
        record(uow, weighed)
        uow.commit()
    return weighed


def check_password(
    ctx: Context, customer_id: int, kind: PasswordKind, password: Password, *, actor: Actor
) -> Customer:
    """Verify one of the customer's passwords, counting a failure; returns the customer."""
    started = time.perf_counter()
    with ctx.uow() as uow:
        customer = uow.customers.get(customer_id)
    if customer is None:
        raise NotFound("no such customer")
    stored_hash = customer.password(kind).hash
    action, contract_id = _ACTIONS[kind], customer.contract_id

    def record(uow: UnitOfWork, weighed: Weighed) -> None:
        if weighed.accepted:
            if ctx.hasher.needs_rehash(stored_hash):
                uow.customers.set_password_hash(customer.id, kind, ctx.hasher.hash(password))
            audit(uow, ctx.clock(), action, actor, contract_id=contract_id)
            return
        audit(uow, ctx.clock(), action, actor, outcome=Outcome.FAILURE,
              contract_id=contract_id, reason=_reason(weighed))
        if weighed.locked_now and not weighed.matched:
            audit(uow, ctx.clock(), Action.PASSWORD_LOCKED, actor, contract_id=contract_id,
                  reason=kind.value)

    weighed = weigh(ctx, lambda uow: uow.customers.password_counter(customer.id, kind),
                    stored_hash, password, record=record)
    if weighed.accepted:
        _decided(kind, "accepted", contract_id, actor, started)
        return customer
    _decided(kind, _reason(weighed), contract_id, actor, started,
             locked_now=weighed.locked_now)
    raise _refusal(kind, weighed)


def _reason(weighed: Weighed) -> str:
    """The audit reason of a refused attempt."""
    if weighed.matched or not weighed.claimed:
        return PasswordLocked.code
    return WrongPassword.code


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


def _refusal(kind: PasswordKind, weighed: Weighed) -> WrongPassword | PasswordLocked:
    """What a refused attempt is told. A right password refused is refused for a lock (or
    for concurrent attempts that may be about to lock it): say so. A wrong one hears of the
    lock only at the confirmation password, whose customer is signed in already: at the
    login form it would tell a guesser that the contract ID exists."""
    if weighed.matched or (kind is PasswordKind.CONFIRMATION
                           and (weighed.locked_now or not weighed.claimed)):
        return PasswordLocked(password=kind.value)
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
