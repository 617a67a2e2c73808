"""交換 (exchange to a new phone): ③ contract ID + login password → ④ the OLD token's OTP →
⑤ serial + OTP of the NEW token, 登録.

The old token keeps working until the one transaction that binds the new one commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from kinko.domain.errors import Conflict, OtpNotInUse, TokenExpired
from kinko.domain.events import Action, Actor, Channel
from kinko.domain.lifecycle import TokenEvent, TokenState, transition
from kinko.domain.model import Token
from kinko.domain.secrets import Code, Password
from kinko.domain.verification import state_error
from kinko.services.context import Context
from kinko.services.credentials import authenticate
from kinko.services.enrollment import find_unbound
from kinko.services.verification import UNBOUND_ONLY, audit, reload_token, verify_code


@dataclass(frozen=True)
class ExchangeStarted:
    customer_id: int
    contract_id: str
    old_token_id: int
    old_serial: str


@dataclass(frozen=True)
class OldTokenConfirmed:
    customer_id: int
    contract_id: str
    old_token_id: int
    old_serial: str


def begin(
    ctx: Context, contract_id: str, login_password: Password, *, channel: Channel = Channel.WEB,
    actor: Actor | None = None, client_address: str | None = None,
) -> ExchangeStarted:
    """③ 契約者ID・ログインパスワード, 次へ. Every step audits ``actor`` (default: the
    customer on ``channel``)."""
    customer = authenticate(ctx, contract_id, login_password, channel=channel, actor=actor,
                            client_address=client_address)
    with ctx.uow() as uow:
        token = uow.tokens.bound_to(customer.id)
    if token is None:
        raise OtpNotInUse()
    if token.state is not TokenState.ACTIVE:
        raise state_error(token.state)
    return ExchangeStarted(customer.id, customer.contract_id, token.id, token.serial)


def confirm_old_token(
    ctx: Context, started: ExchangeStarted, code: Code, *, channel: Channel = Channel.WEB,
    actor: Actor | None = None,
) -> OldTokenConfirmed:
    """④ the OTP of the token in use now, 次へ."""
    verify_code(ctx, started.old_token_id, code,
                actor=actor or Actor.customer(started.contract_id, channel),
                contract_id=started.contract_id)
    return OldTokenConfirmed(started.customer_id, started.contract_id, started.old_token_id,
                             started.old_serial)


def register_new_token(
    ctx: Context, confirmed: OldTokenConfirmed, serial: str, code: Code,
    *, channel: Channel = Channel.WEB, actor: Actor | None = None,
) -> Token:
    """⑤ シリアル番号 + OTP of the new token, 登録 → ⑥ done."""
    actor = actor or Actor.customer(confirmed.contract_id, channel)
    new = find_unbound(ctx, serial)
    verify_code(ctx, new.id, code, actor=actor, contract_id=confirmed.contract_id,
                states=UNBOUND_ONLY)
    now = ctx.clock()
    with ctx.uow() as uow:
        fresh = uow.tokens.get(new.id)
        if fresh is None or fresh.is_expired(now):
            raise TokenExpired()
        # One transaction: nobody ever sees both tokens bound, or neither. The old one is
        # moved out first only because the store allows one bound token per contract.
        if not uow.tokens.change_state(
            confirmed.old_token_id, from_states={TokenState.ACTIVE},
            to_state=transition(TokenState.ACTIVE, TokenEvent.EXCHANGE_OUT), now=now,
        ):
            raise Conflict("the token in use changed state; please start again")
        if not uow.tokens.change_state(
            new.id, from_states={TokenState.UNBOUND},
            to_state=transition(TokenState.UNBOUND, TokenEvent.BIND), now=now,
            customer_id=confirmed.customer_id,
        ):
            raise Conflict("this token can no longer be registered")
        audit(uow, now, Action.TOKEN_EXCHANGED, actor, contract_id=confirmed.contract_id,
              serial=confirmed.old_serial, reason="exchanged_out")
        audit(uow, now, Action.TOKEN_BOUND, actor, contract_id=confirmed.contract_id,
              serial=new.serial, reason="exchange")
        uow.commit()
        return reload_token(uow, new.id)
