"""What bank staff do for a customer who called: suspend, resume, revoke, unlock, resync.

Every action names its reason and is audited with the staff member as actor, and reaches
only a token of that customer (``customer_token``): a staff member's own sign-in token is
managed through ``staff_accounts`` alone, never here.
"""

from __future__ import annotations

from datetime import datetime

from kinko.domain import otp
from kinko.domain.errors import (
    InvalidInput,
    NotActiveForResync,
    NotCustomersToken,
    PasswordNotLocked,
    ReplayedCode,
    TokenChangedMeanwhile,
    WrongCode,
)
from kinko.domain.events import Action, Actor, Outcome
from kinko.domain.lifecycle import TokenEvent, TokenState, sources_of, transition
from kinko.domain.model import Customer, PasswordKind, Token, TokenOrigin
from kinko.domain.secrets import Code
from kinko.domain.serials import normalize_digits, parse_contract_id, parse_serial
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


#: The audit reason of a refused action on a token that is not the customer's.
REFUSAL_REASON = "not_customers_token"

# Every action below takes ``contract_id``, the customer the staff member acts for: the
# token must be that customer's. None (the API, which is given a serial alone) still
# demands a customer's token, just not a particular customer's.


def suspend(ctx: Context, serial: str, *, reason: str, actor: Actor,
            contract_id: str | None = None) -> Token:
    """Stop a token at once, e.g. the phone was reported lost (紛失届)."""
    return _apply(ctx, serial, TokenEvent.SUSPEND, reason=reason, actor=actor,
                  contract_id=contract_id)


def resume(ctx: Context, serial: str, *, reason: str, actor: Actor,
           contract_id: str | None = None) -> Token:
    """Undo a suspension, e.g. the phone was found."""
    return _apply(ctx, serial, TokenEvent.RESUME, reason=reason, actor=actor,
                  contract_id=contract_id)


def unlock_token(ctx: Context, serial: str, *, reason: str, actor: Actor,
                 contract_id: str | None = None) -> Token:
    """Clear a lock after too many wrong codes (誤入力ロック)."""
    return _apply(ctx, serial, TokenEvent.UNLOCK, reason=reason, actor=actor,
                  contract_id=contract_id)


def revoke(ctx: Context, serial: str, *, reason: str, actor: Actor,
           contract_id: str | None = None) -> Token:
    """End a token for good (lost phone, app uninstalled). The customer is back on the
    confirmation password and can 利用開始 with a new phone."""
    return _apply(ctx, serial, TokenEvent.REVOKE, reason=reason, actor=actor,
                  contract_id=contract_id)


def customer_token(uow: UnitOfWork, serial: str,
                   contract_id: str | None) -> tuple[Token, Customer]:
    """The token with ``serial`` and the customer it is bound to (or was, if revoked), if it
    is a customer's token and, when ``contract_id`` is given, that customer's.

    THE rule of every action taken for a customer on a token (suspend, resume, unlock,
    resync, revoke and its four-eyes request, in the console and the API alike). Anything
    else raises ``NotCustomersToken``: a staff member's sign-in token (``staff_id`` set,
    origin ``staff``), another customer's token, a token nobody registered (unbound, or
    burnt while unbound) and an unknown serial all read the same.
    """
    wanted = parse_contract_id(contract_id) if contract_id is not None else None
    token = uow.tokens.by_serial(parse_serial(serial))
    owner = None
    if (token is not None and token.customer_id is not None and token.staff_id is None
            and token.origin is not TokenOrigin.STAFF):
        owner = uow.customers.get(token.customer_id)
    if token is None or owner is None or (wanted is not None and owner.contract_id != wanted):
        raise NotCustomersToken("this customer has no token with this serial number"
                                if wanted is not None
                                else "no customer token with this serial number")
    return token, owner


def audit_refusal(uow: UnitOfWork, now: datetime, action: Action, actor: Actor, *,
                  serial: str, contract_id: str | None) -> None:
    """Record that ``customer_token`` refused ``action``: who tried it, for which customer
    and on which serial (the caller commits it, with nothing else)."""
    # Both parsed already in customer_token, which refuses only well-formed input.
    audit(uow, now, action, actor, outcome=Outcome.FAILURE,
          contract_id=parse_contract_id(contract_id) if contract_id is not None else None,
          serial=parse_serial(serial), reason=REFUSAL_REASON)


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
        raise PasswordNotLocked(kind.value)
    audit(uow, now, Action.PASSWORD_UNLOCKED, actor, contract_id=customer.contract_id,
          reason=f"{kind.value}:{reason}")


def resync(
    ctx: Context, serial: str, first: Code, second: Code, *, reason: str, actor: Actor,
    contract_id: str | None = None,
) -> Token:
    """Recover a far-drifted token from two consecutive codes read out by the customer."""
    _require_reason(reason)
    now = ctx.clock()
    with ctx.uow() as uow:
        try:
            token, owner = customer_token(uow, serial, contract_id)
        except NotCustomersToken:
            audit_refusal(uow, now, Action.TOKEN_RESYNCED, actor, serial=serial,
                          contract_id=contract_id)
            uow.commit()
            raise
        if token.state is not TokenState.ACTIVE:
            raise NotActiveForResync(
                f"only an active token can be resynchronised (it is {token.state})")
        contract_id = owner.contract_id
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
            raise TokenChangedMeanwhile("the token changed meanwhile; please try again")
        audit(uow, now, Action.TOKEN_RESYNCED, actor, contract_id=contract_id,
              serial=token.serial, reason=f"drift={match.drift}:{reason}")
        uow.commit()
        return reload_token(uow, token.id)


def _apply(ctx: Context, serial: str, event: TokenEvent, *, reason: str, actor: Actor,
           contract_id: str | None) -> Token:
    _require_reason(reason)
    now = ctx.clock()
    with ctx.uow() as uow:
        try:
            token = apply_in(uow, now, serial, event, reason=reason, actor=actor,
                             contract_id=contract_id)
        except NotCustomersToken:
            # apply_in refuses before it changes anything: the refusal is all that commits.
            audit_refusal(uow, now, _ACTIONS[event], actor, serial=serial,
                          contract_id=contract_id)
            uow.commit()
            raise
        uow.commit()
        return reload_token(uow, token.id)


def apply_in(uow: UnitOfWork, now: datetime, serial: str, event: TokenEvent, *, reason: str,
             actor: Actor, contract_id: str | None) -> Token:
    """A staff lifecycle event inside the caller's unit of work (an approval commits both),
    on a token of the customer with ``contract_id`` (see ``customer_token``)."""
    token, owner = customer_token(uow, serial, contract_id)
    target = transition(token.state, event)  # InvalidTransition if not allowed
    if not uow.tokens.change_state(token.id, from_states=sources_of(event) & {token.state},
                                   to_state=target, now=now,
                                   reset_failures=event is TokenEvent.UNLOCK):
        raise TokenChangedMeanwhile("the token changed meanwhile; please look again")
    if target is TokenState.REVOKED:
        uow.customers.set_login_otp_required(owner.id, False)
    audit(uow, now, _ACTIONS[event], actor, contract_id=owner.contract_id,
          serial=token.serial, reason=reason)
    return token


def _require_reason(reason: str) -> None:
    if not reason.strip() or len(reason) > 200:
        raise InvalidInput("a reason (1 to 200 characters) is required for every staff action")

