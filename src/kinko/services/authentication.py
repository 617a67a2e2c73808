"""Login to internet banking: the login password, then the OTP when the customer chose it.

The two steps are typed: ``finish_login`` accepts only what ``start_login`` returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kinko.domain.errors import AuthenticationFailed, InvalidInput
from kinko.domain.events import Action, Actor, Channel, Outcome
from kinko.domain.secrets import Code, Password
from kinko.services.context import Context
from kinko.services.credentials import authenticate
from kinko.services.verification import audit, verify_code

#: The purpose a login's code check is audited with (the customer's OTP history lists it).
LOGIN_PURPOSE = "login"


@dataclass(frozen=True)
class LoginStarted:
    """The login password was right; ``otp_required`` says whether a code must follow."""

    customer_id: int
    contract_id: str
    otp_required: bool


@dataclass(frozen=True)
class LoggedIn:
    customer_id: int
    contract_id: str
    #: When the customer last logged in before this login (前回ログイン日時); None the
    #: first time. Shown at home so that a customer notices a login that was not theirs.
    previous_login_at: datetime | None = None


def start_login(
    ctx: Context, contract_id: str, login_password: Password, *, channel: Channel = Channel.WEB,
    client_address: str | None = None,
) -> LoginStarted:
    """契約者ID + ログインパスワード, rate-limited per contract and per ``client_address``."""
    customer = authenticate(ctx, contract_id, login_password, channel=channel,
                            client_address=client_address)
    with ctx.uow() as uow:
        token = uow.tokens.bound_to(customer.id)
    otp_required = customer.login_otp_required and token is not None
    return LoginStarted(customer.id, customer.contract_id, otp_required)


def finish_login(
    ctx: Context, started: LoginStarted, code: Code | None = None,
    *, channel: Channel = Channel.WEB,
) -> LoggedIn:
    actor = Actor.customer(started.contract_id, channel)
    try:
        if started.otp_required:
            if code is None:
                raise InvalidInput("a one-time password is required")
            _verify_login_code(ctx, started, code, actor)
    except AuthenticationFailed as error:
        _audit_login(ctx, actor, started.contract_id, Outcome.FAILURE, error.code)
        raise
    previous = previous_login(ctx, started.contract_id)
    _audit_login(ctx, actor, started.contract_id, Outcome.SUCCESS, None)
    return LoggedIn(started.customer_id, started.contract_id, previous)


#: Login events read back to find the last successful one: failed logins in between are
#: few (each wrong code counts towards the token's lock), so this always reaches it.
_LOGINS_READ = 50


def previous_login(ctx: Context, contract_id: str) -> datetime | None:
    """The time of the contract's last successful login, from the audit trail."""
    with ctx.uow() as uow:
        logins = uow.audit.recent(limit=_LOGINS_READ, contract_id=contract_id,
                                  action=Action.LOGIN.value)
    return next((e.occurred_at for e in logins if e.outcome is Outcome.SUCCESS), None)


def login(
    ctx: Context, contract_id: str, login_password: Password, code: Code | None = None,
    *, channel: Channel = Channel.WEB,
) -> LoggedIn:
    """Both steps at once, for callers that collect everything on one screen."""
    started = start_login(ctx, contract_id, login_password, channel=channel)
    return finish_login(ctx, started, code, channel=channel)


def _verify_login_code(ctx: Context, started: LoginStarted, code: Code, actor: Actor) -> None:
    # The token bound now, not at step one: staff may have suspended it meanwhile, and
    # then verify_code refuses it. One stopped meanwhile leaves the customer on passwords.
    with ctx.uow() as uow:
        token = uow.tokens.bound_to(started.customer_id)
    if token is None:
        return
    verify_code(ctx, token.id, code, actor=actor, contract_id=started.contract_id,
                purpose=LOGIN_PURPOSE)


def _audit_login(
    ctx: Context, actor: Actor, contract_id: str, outcome: Outcome, reason: str | None
) -> None:
    with ctx.uow() as uow:
        audit(uow, ctx.clock(), Action.LOGIN, actor, outcome=outcome,
              contract_id=contract_id, reason=reason)
        uow.commit()
