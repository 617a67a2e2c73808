"""利用開始 (start using OTP): the guide's steps ②–⑦ as three typed calls.

② contract ID + login password → ④ serial + the new token's OTP → ⑤⑥⑦ login-OTP choice,
confirmation password, 登録. Each call accepts only what the previous one returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from kinko.domain.errors import Conflict, NotFound, OtpAlreadyInUse, TokenExpired
from kinko.domain.events import Action, Actor, Channel
from kinko.domain.lifecycle import TokenEvent, TokenState, transition
from kinko.domain.model import PasswordKind, Token, TokenOrigin
from kinko.domain.secrets import Code, Password
from kinko.domain.serials import parse_serial
from kinko.services.context import Context
from kinko.services.credentials import authenticate, check_password
from kinko.services.issuance import IssuedToken, issue_token
from kinko.services.verification import UNBOUND_ONLY, audit, reload_token, verify_code


@dataclass(frozen=True)
class EnrollmentStarted:
    customer_id: int
    contract_id: str


@dataclass(frozen=True)
class EnrollmentTokenConfirmed:
    customer_id: int
    contract_id: str
    token_id: int
    serial: str


def begin(
    ctx: Context, contract_id: str, login_password: Password, *, channel: Channel = Channel.WEB,
    actor: Actor | None = None, client_address: str | None = None,
) -> EnrollmentStarted:
    """② 契約者ID・ログインパスワード → ③ 次へ.

    Every step audits ``actor``, by default the customer on ``channel``.
    """
    customer = authenticate(ctx, contract_id, login_password, channel=channel, actor=actor,
                            client_address=client_address)
    with ctx.uow() as uow:
        if uow.tokens.bound_to(customer.id) is not None:
            raise OtpAlreadyInUse()
    return EnrollmentStarted(customer.id, customer.contract_id)


def confirm_token(
    ctx: Context, started: EnrollmentStarted, serial: str, code: Code,
    *, channel: Channel = Channel.WEB, actor: Actor | None = None,
) -> EnrollmentTokenConfirmed:
    """④ シリアル番号 + the OTP the new token shows. The code is spent here."""
    token = find_unbound(ctx, serial)
    verify_code(ctx, token.id, code, actor=actor or Actor.customer(started.contract_id, channel),
                contract_id=started.contract_id, states=UNBOUND_ONLY)
    return EnrollmentTokenConfirmed(started.customer_id, started.contract_id, token.id,
                                    token.serial)


def register(
    ctx: Context,
    confirmed: EnrollmentTokenConfirmed,
    *,
    login_otp_required: bool,
    confirmation_password: Password,
    channel: Channel = Channel.WEB,
    actor: Actor | None = None,
) -> Token:
    """⑤ ログイン時のOTP認証 する/しない → ⑥ 確認用パスワード → ⑦ 登録."""
    actor = actor or Actor.customer(confirmed.contract_id, channel)
    check_password(ctx, confirmed.customer_id, PasswordKind.CONFIRMATION,
                   confirmation_password, actor=actor)
    now = ctx.clock()
    with ctx.uow() as uow:
        if uow.tokens.bound_to(confirmed.customer_id) is not None:
            raise OtpAlreadyInUse()
        token = uow.tokens.get(confirmed.token_id)
        if token is None or token.is_expired(now):
            raise TokenExpired()
        target = transition(TokenState.UNBOUND, TokenEvent.BIND)
        if not uow.tokens.change_state(confirmed.token_id, from_states={TokenState.UNBOUND},
                                       to_state=target, now=now,
                                       customer_id=confirmed.customer_id):
            raise Conflict("this token can no longer be registered")
        uow.customers.set_login_otp_required(confirmed.customer_id, login_otp_required)
        audit(uow, now, Action.TOKEN_BOUND, actor, contract_id=confirmed.contract_id,
              serial=confirmed.serial, reason="enroll")
        uow.commit()
        return reload_token(uow, confirmed.token_id)


def issue_for_authenticator_app(ctx: Context, contract_id: str,
                                *, channel: Channel = Channel.WEB) -> IssuedToken:
    """A token for another authenticator app (bank policy permitting), issued for a customer
    who passed the password step of 利用開始 or 交換; the caller shows its otpauth:// QR."""
    return issue_token(ctx, TokenOrigin.THIRD_PARTY,
                       actor=Actor.customer(contract_id, channel))


def find_unbound(ctx: Context, serial: str) -> Token:
    """The unbound token with this serial, for 利用開始 and the new token of 交換.

    Any other state reads as "not found", so a serial cannot be probed for its owner.
    """
    serial = parse_serial(serial)
    with ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
    if token is None or token.state not in (TokenState.UNBOUND,):
        raise NotFound("no token with this serial number is waiting to be registered")
    return token
