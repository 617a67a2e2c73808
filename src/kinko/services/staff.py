"""What bank staff do for a customer who called: suspend, resume, revoke, unlock, resync.

Every action names its reason and is audited with the staff member as actor.
"""

from __future__ import annotations

from datetime import datetime

from kinko.domain import otp
from kinko.domain.errors import Conflict, InvalidInput, NotFound, ReplayedCode, WrongCode
from kinko.domain.events import Action, Actor, Outcome
from kinko.domain.lifecycle import TokenEvent, TokenState, sources_of, transition
from kinko.domain.model import Customer, PasswordKind, Token
from kinko.domain.secrets import Code
from kinko.domain.serials import normalize_digits, parse_serial
from kinko.services.context import Context
from kinko.services.customers import get_customer
from kinko.services.ports import UnitOfWork
from kinko.services.verification import audit, reload_token

_ACTIONS = {
    TokenEvent.SUSPEND: Action.TOKEN_SUSPENDED,
    TokenEvent.RESUME: Action.TOKEN_RESUMED,
    TokenEvent.REVOKE: Action.TOKEN_REVOKED,
    TokenEvent.UNLOCK: Action.TOKEN_UNLOCKED,
}


def suspend(ctx: Context, serial: str, *, reason: str, actor: Actor) -> Token:
    """Stop a token at once, e.g. the phone was reported lost (紛失届)."""
    return _apply(ctx, serial, TokenEvent.SUSPEND, reason=reason, actor=actor)


def resume(ctx: Context, serial: str, *, reason: str, actor: Actor) -> Token:
    """Undo a suspension, e.g. the phone was found."""
    return _apply(ctx, serial, TokenEvent.RESUME, reason=reason, actor=actor)


def unlock_token(ctx: Context, serial: str, *, reason: str, actor: Actor) -> Token:
    """Clear a lock after too many wrong codes (誤入力ロック)."""
    return _apply(ctx, serial, TokenEvent.UNLOCK, reason=reason, actor=actor)


def revoke(ctx: Context, serial: str, *, reason: str, actor: Actor) -> Token:
    """End a token for good (lost phone, app uninstalled). The customer is back on the
    confirmation password and can 利用開始 with a new phone."""
    return _apply(ctx, serial, TokenEvent.REVOKE, reason=reason, actor=actor)


def unlock_password(
    ctx: Context, contract_id: str, kind: PasswordKind, *, reason: str, actor: Actor
) -> Customer:
    customer = get_customer(ctx, contract_id)
    _require_reason(reason)
    with ctx.uow() as uow:
        unlock_password_in(uow, ctx.clock(), customer, kind, reason=reason, actor=actor)
        uow.commit()
    return customer


def unlock_password_in(uow: UnitOfWork, now: datetime, customer: Customer, kind: PasswordKind,
                       *, reason: str, actor: Actor) -> None:
    """The password unlock inside the caller's unit of work (an approval commits both)."""
    if not uow.customers.unlock_password(customer.id, kind):
        raise Conflict(f"the {kind.value} password is not locked")
    audit(uow, now, Action.PASSWORD_UNLOCKED, actor, contract_id=customer.contract_id,
          reason=f"{kind.value}:{reason}")


def resync(
    ctx: Context, serial: str, first: Code, second: Code, *, reason: str, actor: Actor
) -> Token:
    """Recover a far-drifted token from two consecutive codes read out by the customer."""
    _require_reason(reason)
    now = ctx.clock()
    with ctx.uow() as uow:
        token = _token(uow, serial)
        if token.state is not TokenState.ACTIVE:
            raise Conflict(f"only an active token can be resynchronised (it is {token.state})")
        contract_id = _contract_id(uow, token)
        try:
            match = otp.find_resync_steps(
                token.params, uow.tokens.seed(token).reveal(),
                normalize_digits(first.reveal()), normalize_digits(second.reveal()),
                now=now.timestamp(), search=ctx.policy.resync_search,
                last_step=token.last_step,
            )
        except (WrongCode, ReplayedCode) as error:
            audit(uow, now, Action.TOKEN_RESYNCED, actor, outcome=Outcome.FAILURE,
                  contract_id=contract_id, serial=token.serial, reason=error.code)
            uow.commit()
            raise
        if not uow.tokens.set_sync(token.id, last_step=match.step, drift=match.drift, now=now):
            raise Conflict("the token changed meanwhile; please try again")
        audit(uow, now, Action.TOKEN_RESYNCED, actor, contract_id=contract_id,
              serial=token.serial, reason=f"drift={match.drift}:{reason}")
        uow.commit()
        return reload_token(uow, token.id)


def _apply(ctx: Context, serial: str, event: TokenEvent, *, reason: str, actor: Actor) -> Token:
    _require_reason(reason)
    with ctx.uow() as uow:
        token = apply_in(uow, ctx.clock(), serial, event, reason=reason, actor=actor)
        uow.commit()
        return reload_token(uow, token.id)


def apply_in(uow: UnitOfWork, now: datetime, serial: str, event: TokenEvent, *, reason: str,
             actor: Actor) -> Token:
    """A staff lifecycle event inside the caller's unit of work (an approval commits both)."""
    token = _token(uow, serial)
    target = transition(token.state, event)  # InvalidTransition if not allowed
    if not uow.tokens.change_state(token.id, from_states=sources_of(event) & {token.state},
                                   to_state=target, now=now,
                                   reset_failures=event is TokenEvent.UNLOCK):
        raise Conflict("the token changed meanwhile; please look again")
    contract_id = _contract_id(uow, token)
    if target is TokenState.REVOKED and token.customer_id is not None:
        uow.customers.set_login_otp_required(token.customer_id, False)
    audit(uow, now, _ACTIONS[event], actor, contract_id=contract_id, serial=token.serial,
          reason=reason)
    return token


def _token(uow: UnitOfWork, serial: str) -> Token:
    token = uow.tokens.by_serial(parse_serial(serial))
    if token is None:
        raise NotFound("no token with this serial number")
    return token


def _contract_id(uow: UnitOfWork, token: Token) -> str | None:
    if token.customer_id is None:
        return None
    customer = uow.customers.get(token.customer_id)
    return customer.contract_id if customer else None


def _require_reason(reason: str) -> None:
    if not reason.strip() or len(reason) > 200:
        raise InvalidInput("a reason (1 to 200 characters) is required for every staff action")

