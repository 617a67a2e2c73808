"""The one path every one-time password takes: read the token, let the domain decide
(``kinko.domain.verification.decide``), and settle the decision with its audit event.

Login, transactions, 利用開始, 利用中止, 交換, staff sign-in and the bank systems' API all
call ``verify_code``; right codes, wrong codes, replays and locked tokens take the same
path. Concurrent checks of one token do not lock it: the store writes a decision only to the
token version it was made on, and a check that lost the race reads and decides again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from kinko.domain import notices
from kinko.domain.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    TokenExpired,
    TokenLocked,
)
from kinko.domain.events import Action, Actor, AuditEvent, Outcome
from kinko.domain.lifecycle import TokenEvent, TokenState, transition
from kinko.domain.masking import mask_contract_id, mask_serial
from kinko.domain.model import Token
from kinko.domain.secrets import Code
from kinko.domain.verification import Accept, Decision, Refuse, decide
from kinko.logs import FIELDS
from kinko.services.context import Context
from kinko.services.ports import TokenRef, UnitOfWork, Verifiable

ACTIVE_ONLY: frozenset[TokenState] = frozenset({TokenState.ACTIVE})
UNBOUND_ONLY: frozenset[TokenState] = frozenset({TokenState.UNBOUND})

log = logging.getLogger(__name__)

#: The log's name for an accepted code; a refusal is logged with its error's code.
ACCEPTED = "accepted"


def reload_token(uow: UnitOfWork, token_id: int) -> Token:
    """The token as stored now (after a change in this unit of work)."""
    token = uow.tokens.get(token_id)
    if token is None:
        raise NotFound("no such token")
    return token


def audit(
    uow: UnitOfWork,
    now: datetime,
    action: Action,
    actor: Actor,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    contract_id: str | None = None,
    serial: str | None = None,
    reason: str | None = None,
) -> None:
    """Record one audit event in the caller's unit of work (committed with its change), and
    queue the customer's e-mail notice when the event is one that tells the customer.

    The notice is written in the same transaction (the outbox pattern): it is sent if and
    only if the change commits, and a process dying after the commit cannot lose it.
    """
    event = AuditEvent(
        occurred_at=now,
        action=action,
        outcome=outcome,
        actor=actor.name,
        channel=actor.channel,
        contract_id=contract_id,
        serial=serial,
        reason=reason,
    )
    uow.audit.record(event)
    notice = notices.notice_for(event)
    if notice is not None:
        customer = uow.customers.by_contract_id(notice.contract_id)
        if customer is not None and customer.email:
            uow.outbox.enqueue(notice, recipient=customer.email, recipient_name=customer.name)


def expire_if_due(uow: UnitOfWork, token: Token, now: datetime, actor: Actor) -> bool:
    """Revoke an unbound token past its binding period; True if it was (or is now) expired."""
    if not token.is_expired(now):
        return False
    target = transition(token.state, TokenEvent.EXPIRE)
    if uow.tokens.change_state(token.id, from_states={token.state}, to_state=target, now=now):
        audit(uow, now, Action.TOKEN_EXPIRED, actor, serial=token.serial, reason="unbound_ttl")
    return True


@dataclass(frozen=True)
class CodeAccepted:
    """A code accepted and its step spent: which token, and what was learned."""

    step: int
    drift: int
    token_id: int
    serial: str
    #: The contract ID the check was audited under (None: a staff member's token).
    contract_id: str | None


#: How often one check reads and decides again after losing a race for the same token;
#: each loss means another check of that token was settled meanwhile.
MAX_RACES = 32


def verify_code(
    ctx: Context,
    token: int | TokenRef,
    code: Code,
    *,
    actor: Actor,
    contract_id: str | None = None,
    states: Collection[TokenState] = ACTIVE_ONLY,
    purpose: str | None = None,
) -> CodeAccepted:
    """Check ``code`` against the token (an id, or a ``TokenRef`` by contract ID or serial)
    and spend its step, or raise and count the failure.

    The outcome is committed before this returns or raises, so a code that was checked
    stays spent, and a failure stays counted, whatever the caller does next. The audit
    event names ``contract_id`` if given (利用開始 checks a token bound to nobody yet), else
    the token's customer; ``purpose`` (e.g. ``login``) is the reason of an accepted code's
    event. Raises ``NotFound`` when there is no such token.
    """
    ref = token if isinstance(token, TokenRef) else TokenRef(token_id=token)
    started = time.perf_counter()
    for _ in range(MAX_RACES):
        now = ctx.clock()
        with ctx.uow(single_statements=True) as uow:
            found = uow.tokens.for_verification(ref)
            if found is None:
                raise NotFound("no such token")
            decision = decide(found.token, found.seed.reveal(), code.reveal(), now=now,
                              policy=ctx.policy, states=states)
            audited_as = contract_id if contract_id is not None else found.contract_id
            event = _checked_event(now, actor, audited_as, found.token.serial, decision,
                                   purpose)
            follow_up = _follow_up(decision, audited_as)
            if not follow_up:
                settled = uow.tokens.settle(found.token, decision, now=now, event=event)
                uow.commit()
        if follow_up:  # its events (and notices) commit with it, in one transaction
            with ctx.uow() as uow:
                settled = uow.tokens.settle(found.token, decision, now=now, event=event)
                if settled:
                    for action, reason, named in follow_up:
                        audit(uow, now, action, actor, contract_id=named,
                              serial=found.token.serial, reason=reason)
                uow.commit()
        if settled:
            return _outcome(ctx, started, found, decision, audited_as, actor, purpose)
    raise Conflict("the token kept changing while its code was checked; try again")


def _checked_event(now: datetime, actor: Actor, contract_id: str | None, serial: str,
                   decision: Decision, purpose: str | None) -> AuditEvent:
    """The audit event of every code check: success with ``purpose``, or the refusal."""
    refused = isinstance(decision, Refuse)
    return AuditEvent(
        occurred_at=now, action=Action.TOKEN_CODE_CHECKED,
        outcome=Outcome.FAILURE if refused else Outcome.SUCCESS,
        actor=actor.name, channel=actor.channel, contract_id=contract_id, serial=serial,
        reason=decision.error.code if isinstance(decision, Refuse) else purpose)


def _follow_up(decision: Decision, contract_id: str | None) -> list[tuple[Action, str, str | None]]:
    """The lifecycle events (action, reason, contract ID) a decision's state change is
    audited, and notified, with."""
    if not isinstance(decision, Refuse) or decision.state is None:
        return []
    if isinstance(decision.error, TokenExpired):
        return [(Action.TOKEN_EXPIRED, "unbound_ttl", None)]
    action = Action.TOKEN_LOCKED if decision.state is TokenState.LOCKED else (
        Action.TOKEN_REVOKED)
    return [(action, "too_many_wrong_codes", contract_id)]


def _outcome(ctx: Context, started: float, found: Verifiable, decision: Decision,
             contract_id: str | None, actor: Actor, purpose: str | None) -> CodeAccepted:
    """Report the settled decision (metrics, log) and return or raise it."""
    token = found.token
    if isinstance(decision, Accept):
        _decided(ctx, started, token.id, token.serial, contract_id, actor, purpose,
                 drift=decision.drift)
        return CodeAccepted(decision.step, decision.drift, token.id, token.serial,
                            contract_id)
    _decided(ctx, started, token.id, token.serial, contract_id, actor, purpose,
             drift=token.drift, error=decision.error, state=token.state)
    if isinstance(decision.error, TokenLocked) and decision.state is TokenState.LOCKED:
        ctx.metrics.token_locked()
    raise decision.error


def _decided(
    ctx: Context,
    started: float,
    token_id: int,
    serial: str,
    contract_id: str | None,
    actor: Actor,
    purpose: str | None,
    *,
    drift: int,
    error: AuthenticationFailed | None = None,
    state: TokenState | None = None,
) -> None:
    """Report one committed decision on a code: the metrics, and one log line (debug for an
    accepted code, info for a refusal). Nothing secret is known here: no code, no seed; the
    serial and contract ID are masked."""
    seconds = time.perf_counter() - started
    ctx.metrics.verification(Outcome.SUCCESS.value if error is None else error.code, seconds)
    level = logging.DEBUG if error is None else logging.INFO
    if not log.isEnabledFor(level):  # the hot path at info: no fields built
        return
    fields: dict[str, object] = {
        "outcome": ACCEPTED if error is None else error.code,
        "token_id": token_id,
        "serial": mask_serial(serial),
        "contract_id": None if contract_id is None else mask_contract_id(contract_id),
        "channel": actor.channel.value,
        "purpose": purpose,
        "drift": drift,
        "duration_ms": round(seconds * 1000, 3),
    }
    if state is not None:
        fields["state"] = state.value
    log.log(level, "code %s", "accepted" if error is None else "refused",
            extra={FIELDS: fields})
