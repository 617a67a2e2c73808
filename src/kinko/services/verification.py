"""The one path every one-time password takes: state, expiry, drift, replay, lockout, audit.

Login, transactions, 利用開始, 利用中止, 交換 and staff resync all call ``verify_code``.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import TypeVar

from kinko.domain import notices, otp
from kinko.domain.errors import (
    AuthenticationFailed,
    NotFound,
    ReplayedCode,
    TokenExpired,
    TokenLocked,
    TokenRevoked,
    TokenSuspended,
    WrongCode,
)
from kinko.domain.events import Action, Actor, AuditEvent, Outcome
from kinko.domain.lifecycle import TokenEvent, TokenState, transition
from kinko.domain.masking import mask_contract_id, mask_serial
from kinko.domain.model import Token
from kinko.domain.secrets import Code
from kinko.domain.serials import normalize_digits
from kinko.logs import FIELDS
from kinko.services.context import Context
from kinko.services.ports import KnownToken, UnitOfWork

ACTIVE_ONLY: frozenset[TokenState] = frozenset({TokenState.ACTIVE})
UNBOUND_ONLY: frozenset[TokenState] = frozenset({TokenState.UNBOUND})

log = logging.getLogger(__name__)

#: The log's name for an accepted code; a refusal is logged with its error's code.
ACCEPTED = "accepted"


def state_error(token: Token) -> AuthenticationFailed:
    """The error a customer sees when the token is not in a state that accepts codes."""
    errors: dict[TokenState, AuthenticationFailed] = {
        TokenState.LOCKED: TokenLocked(),
        TokenState.SUSPENDED: TokenSuspended(),
        TokenState.REVOKED: TokenRevoked(),
    }
    return errors.get(token.state, TokenRevoked("this token cannot be used here"))


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


def verify_code(
    ctx: Context,
    token_id: int,
    code: Code,
    *,
    actor: Actor,
    contract_id: str | None = None,
    states: Collection[TokenState] = ACTIVE_ONLY,
    purpose: str | None = None,
) -> otp.TotpMatch:
    """Check ``code`` against the token and spend its step, or raise and count the failure.

    The outcome is committed before this returns or raises, so a code that was checked
    stays spent, and a failure stays counted, whatever the caller does next. ``purpose``
    (e.g. ``login``), when given, is the reason recorded with an accepted code.

    The common case, a right code for a token this process has checked before, is one
    statement (``verify_known``). Anything else takes the full path: read and lock the
    token, check, write the outcome.
    """
    started = time.perf_counter()
    match = verify_known(ctx, token_id, code, actor=actor, contract_id=contract_id,
                         states=states, purpose=purpose)
    if match is not None:
        return match
    now = ctx.clock()
    with ctx.uow() as uow:
        loaded = uow.tokens.for_check(token_id)
        if loaded is None:
            raise NotFound("no such token")
        token, known = loaded
        try:
            match = _check(ctx, uow, token, known, code, now, states, actor, contract_id,
                           purpose)
        except AuthenticationFailed as error:
            audit(uow, now, Action.TOKEN_CODE_CHECKED, actor, outcome=Outcome.FAILURE,
                  contract_id=contract_id, serial=token.serial, reason=error.code)
            uow.commit()
            _decided(ctx, started, "full", token.id, token.serial, contract_id, actor,
                     purpose, error=error, drift=token.drift, state=token.state)
            if isinstance(error, TokenLocked) and token.state is not TokenState.LOCKED:
                ctx.metrics.token_locked()
            raise
        uow.commit()
        _decided(ctx, started, "full", token.id, token.serial, contract_id, actor, purpose,
                 drift=match.drift)
        return match


def verify_known(
    ctx: Context,
    token_id: int,
    code: Code,
    *,
    actor: Actor,
    contract_id: str | None = None,
    states: Collection[TokenState] = ACTIVE_ONLY,
    purpose: str | None = None,
) -> otp.TotpMatch | None:
    """``verify_code``'s one-statement path: a right code for a token this process has
    checked before is spent, and its success audited, by one conditional statement that
    re-checks every fact the decision rests on (``TokenRepository.spend``).

    None when that path does not apply (a token not seen here, a wrong code, a replay, a
    changed state): nothing was written, and ``verify_code`` takes the full path. Never
    raises for the code itself, so a caller may try it on a remembered token id first.
    """
    def remembered(uow: UnitOfWork) -> tuple[KnownToken, str | None] | None:
        known = uow.tokens.known(token_id)
        return None if known is None else (known, contract_id)

    found = _spend_found(ctx, remembered, code, states, actor, purpose)
    return None if found is None else found[0]


def verify_active(
    ctx: Context,
    code: Code,
    *,
    actor: Actor,
    contract_id: str | None = None,
    serial: str | None = None,
    purpose: str | None = None,
) -> tuple[otp.TotpMatch, KnownToken, str] | None:
    """``verify_known`` for a customer's active token found by ``contract_id`` or its
    ``serial``: one read (token, sealed seed and contract ID together, no lock) and the
    one conditional statement. Returns the match, the token and the contract ID.

    None when that does not settle it (no such active token, a wrong code, a replay):
    nothing was written, and the caller takes the full path (``verify_code``).
    """
    def active(uow: UnitOfWork) -> tuple[KnownToken, str] | None:
        return uow.tokens.active_of(contract_id=contract_id, serial=serial)

    return _spend_found(ctx, active, code, ACTIVE_ONLY, actor, purpose)


ContractId = TypeVar("ContractId", bound=str | None)


def _spend_found(
    ctx: Context,
    find: Callable[[UnitOfWork], tuple[KnownToken, ContractId] | None],
    code: Code,
    states: Collection[TokenState],
    actor: Actor,
    purpose: str | None,
) -> tuple[otp.TotpMatch, KnownToken, ContractId] | None:
    """Find the token (and its contract ID) with ``find``, then spend the step of a right
    code with the one conditional statement, in one unit of work."""
    now = ctx.clock()
    started = time.perf_counter()
    with ctx.uow() as uow:
        found = find(uow)
        if found is None:
            return None
        known, contract_id = found
        match = _spend_if_known(ctx, uow, known, code, now, states, actor, contract_id,
                                purpose)
        if match is None:
            return None
        uow.commit()
    _decided(ctx, started, "fast", known.id, known.serial, contract_id, actor, purpose,
             drift=match.drift)
    return match, known, contract_id


def _decided(
    ctx: Context,
    started: float,
    path: str,
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
    accepted code, info for a refusal). ``path`` says which path decided (``fast``: the
    one statement, ``full``: read, lock, check). Nothing secret is known here: no code, no
    seed; the serial and contract ID are masked."""
    seconds = time.perf_counter() - started
    ctx.metrics.verification(Outcome.SUCCESS.value if error is None else error.code, seconds)
    level = logging.DEBUG if error is None else logging.INFO
    if not log.isEnabledFor(level):  # the hot path at info: no fields built
        return
    fields: dict[str, object] = {
        "outcome": ACCEPTED if error is None else error.code,
        "path": path,
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


def _checked_event(now: datetime, actor: Actor, contract_id: str | None,
                   serial: str, purpose: str | None) -> AuditEvent:
    return AuditEvent(occurred_at=now, action=Action.TOKEN_CODE_CHECKED,
                      outcome=Outcome.SUCCESS, actor=actor.name, channel=actor.channel,
                      contract_id=contract_id, serial=serial, reason=purpose)


def _spend_if_known(
    ctx: Context,
    uow: UnitOfWork,
    known: KnownToken,
    code: Code,
    now: datetime,
    states: Collection[TokenState],
    actor: Actor,
    contract_id: str | None,
    purpose: str | None,
) -> otp.TotpMatch | None:
    """The one-statement path: the match, spent and recorded; None to take the full path.

    From what this process remembers of the token (``known``), find the one step the code
    matches within 3 × window of the remembered centre. If there is exactly one, and the
    steps within 2 × window of it match nothing else, then whatever drift the token now
    has, as long as the step lies inside its window (which ``spend`` checks), the full
    check would pick that same step: so spending it conditionally is the same decision.
    """
    text = normalize_digits(code.reveal())
    params, window = known.params, ctx.policy.window
    if not (len(text) == params.digits and text.isascii() and text.isdigit()):
        return None
    current = params.step_at(now.timestamp())
    centre = current + known.drift
    low, high = centre - 3 * window, centre + 3 * window
    given = text.encode("ascii")
    seed = known.seed.reveal()
    matches = [
        step for step in range(max(low, 0), high + 1)
        if hmac.compare_digest(params.code_at_step(seed, step).encode("ascii"), given)
    ]
    if len(matches) != 1 or abs(matches[0] - centre) > window:
        return None
    step = matches[0]
    event = _checked_event(now, actor, contract_id, known.serial, purpose)
    if notices.notice_for(event) is not None:
        return None  # never the case for a code check; audit() would queue it
    if not uow.tokens.spend(known, step=step, current_step=current, window=window,
                            states=states, now=now, event=event, alone=True):
        return None
    return otp.TotpMatch(step=step, drift=step - current)


def _check(
    ctx: Context,
    uow: UnitOfWork,
    token: Token,
    known: KnownToken,
    code: Code,
    now: datetime,
    states: Collection[TokenState],
    actor: Actor,
    contract_id: str | None,
    purpose: str | None,
) -> otp.TotpMatch:
    """The full check on a freshly read (and locked) token; records the success itself."""
    if expire_if_due(uow, token, now, actor):
        raise TokenExpired()
    if token.state not in states:
        raise state_error(token)
    current = token.params.step_at(now.timestamp())
    try:
        match = otp.verify_totp(
            token.params,
            known.seed.reveal(),
            normalize_digits(code.reveal()),
            now=now.timestamp(),
            drift=token.drift,
            window=ctx.policy.window,
            last_step=token.last_step,
        )
    except WrongCode:
        _count_failure(ctx, uow, token, now, actor, contract_id)
        raise
    event = _checked_event(now, actor, contract_id, token.serial, purpose)
    if notices.notice_for(event) is not None:  # not for a code check today; kept general
        spent = uow.tokens.spend_step(token.id, step=match.step, drift=match.drift,
                                      states=states, now=now)
        if spent:
            audit(uow, now, Action.TOKEN_CODE_CHECKED, actor, contract_id=contract_id,
                  serial=token.serial, reason=purpose)
    else:
        spent = uow.tokens.spend(known, step=match.step, current_step=current,
                                 window=ctx.policy.window, states=states, now=now, event=event)
    if not spent:
        # The row is locked, so only a backend that cannot lock (none today) gets here.
        fresh = uow.tokens.get(token.id)
        if fresh is not None and fresh.state not in states:
            raise state_error(fresh)
        raise ReplayedCode()
    return match


def _count_failure(
    ctx: Context,
    uow: UnitOfWork,
    token: Token,
    now: datetime,
    actor: Actor,
    contract_id: str | None,
) -> None:
    """Count a wrong code; raise ``TokenLocked`` when this one reached the limit."""
    limit_state = transition(token.state, TokenEvent.TOO_MANY_FAILURES)
    counted = uow.tokens.record_failure(
        token.id, state=token.state, limit=ctx.policy.max_code_failures,
        limit_state=limit_state, now=now,
    )
    if counted is None:
        fresh = uow.tokens.get(token.id)
        raise state_error(fresh) if fresh is not None else NotFound("no such token")
    _, state = counted
    if state is limit_state:
        action = Action.TOKEN_LOCKED if state is TokenState.LOCKED else Action.TOKEN_REVOKED
        audit(uow, now, action, actor, contract_id=contract_id, serial=token.serial,
              reason="too_many_wrong_codes")
        raise TokenLocked() if state is TokenState.LOCKED else TokenRevoked(
            "too many wrong codes for an unregistered token"
        )

