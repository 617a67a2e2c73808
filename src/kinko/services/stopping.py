"""利用中止 (stop using OTP): ② contract ID + login password → ③ OTP + confirmation password, 停止.

Afterwards transactions use the confirmation password again.
"""

from __future__ import annotations

from dataclasses import dataclass

from kinko.domain.errors import Conflict, OtpNotInUse
from kinko.domain.events import Action, Actor, Channel
from kinko.domain.lifecycle import TokenEvent, TokenState, sources_of, transition
from kinko.domain.model import PasswordKind
from kinko.domain.secrets import Code, Password
from kinko.domain.verification import state_error
from kinko.services.context import Context
from kinko.services.credentials import authenticate, check_password
from kinko.services.verification import audit, verify_code


@dataclass(frozen=True)
class StopStarted:
    customer_id: int
    contract_id: str
    token_id: int
    serial: str


def begin(
    ctx: Context, contract_id: str, login_password: Password, *, channel: Channel = Channel.WEB,
    actor: Actor | None = None, client_address: str | None = None,
) -> StopStarted:
    """② 契約者ID・ログインパスワード, 次へ. Both steps audit ``actor`` (default: the
    customer on ``channel``)."""
    customer = authenticate(ctx, contract_id, login_password, channel=channel, actor=actor,
                            client_address=client_address)
    with ctx.uow() as uow:
        token = uow.tokens.bound_to(customer.id)
    if token is None:
        raise OtpNotInUse()
    if token.state is not TokenState.ACTIVE:
        raise state_error(token.state)
    return StopStarted(customer.id, customer.contract_id, token.id, token.serial)


def stop(
    ctx: Context, started: StopStarted, code: Code, confirmation_password: Password,
    *, channel: Channel = Channel.WEB, actor: Actor | None = None,
) -> None:
    """③ ワンタイムパスワード + 確認用パスワード, 停止 → ④ done."""
    actor = actor or Actor.customer(started.contract_id, channel)
    verify_code(ctx, started.token_id, code, actor=actor, contract_id=started.contract_id)
    check_password(ctx, started.customer_id, PasswordKind.CONFIRMATION, confirmation_password,
                   actor=actor)
    now = ctx.clock()
    with ctx.uow() as uow:
        if not uow.tokens.change_state(
            started.token_id, from_states=sources_of(TokenEvent.STOP),
            to_state=transition(TokenState.ACTIVE, TokenEvent.STOP), now=now,
        ):
            raise Conflict("the token changed state; please start again")
        uow.customers.set_login_otp_required(started.customer_id, False)
        audit(uow, now, Action.TOKEN_STOPPED, actor, contract_id=started.contract_id,
              serial=started.serial, reason="stop")
        uow.commit()
