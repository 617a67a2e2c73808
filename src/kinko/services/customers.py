"""Creating customers and their settings (login OTP on or off); what the customer's own
screens show of their one-time password: its state and its history.

Passwords are stored only as argon2id hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kinko.domain.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    TokenRevoked,
)
from kinko.domain.events import OPERATOR, Action, Actor, AuditEvent, Channel, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import Customer
from kinko.domain.secrets import Code, Password
from kinko.domain.serials import parse_contract_id
from kinko.domain.verification import state_error
from kinko.services.context import Context
from kinko.services.ports import NewCustomer
from kinko.services.verification import audit, verify_code

MIN_PASSWORD_LENGTH = 6
MAX_PASSWORD_LENGTH = 128


def validate_password(password: Password, *, label: str) -> None:
    length = len(password.reveal())
    if not MIN_PASSWORD_LENGTH <= length <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"{label} must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )


def add_customer(
    ctx: Context,
    *,
    contract_id: str,
    name: str,
    login_password: Password,
    confirmation_password: Password,
    email: str | None = None,
    actor: Actor = OPERATOR,
) -> Customer:
    contract_id = parse_contract_id(contract_id)
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name must be 1 to 100 characters")
    if email is not None and (email.count("@") != 1 or len(email) > 254 or " " in email):
        raise InvalidInput("email address is not valid")
    validate_password(login_password, label="login password")
    validate_password(confirmation_password, label="confirmation password")
    if login_password == confirmation_password:
        raise InvalidInput("the confirmation password must differ from the login password")
    now = ctx.clock()
    new = NewCustomer(
        contract_id=contract_id,
        name=name,
        email=email,
        login_password_hash=ctx.hasher.hash(login_password),
        confirmation_password_hash=ctx.hasher.hash(confirmation_password),
        created_at=now,
    )
    with ctx.uow() as uow:
        if uow.customers.by_contract_id(contract_id) is not None:
            raise Conflict(f"contract ID {contract_id} already exists")
        customer = uow.customers.add(new)
        audit(uow, now, Action.CUSTOMER_CREATED, actor, contract_id=contract_id)
        uow.commit()
    return customer


def get_customer(ctx: Context, contract_id: str) -> Customer:
    contract_id = parse_contract_id(contract_id)
    with ctx.uow() as uow:
        customer = uow.customers.by_contract_id(contract_id)
    if customer is None:
        raise NotFound(f"no customer with contract ID {contract_id}")
    return customer


def set_login_otp(
    ctx: Context, customer_id: int, *, required: bool, code: Code, channel: Channel = Channel.WEB
) -> None:
    """ログイン時のワンタイムパスワード認証 する / しない: changing it needs a current code."""
    with ctx.uow() as uow:
        customer = uow.customers.get(customer_id)
        token = uow.tokens.bound_to(customer_id)
    if customer is None:
        raise NotFound("no such customer")
    if token is None:
        raise TokenRevoked("one-time passwords are not in use for this contract")
    actor = Actor.customer(customer.contract_id, channel)
    verify_code(ctx, token.id, code, actor=actor, contract_id=customer.contract_id)
    now = ctx.clock()
    with ctx.uow() as uow:
        uow.customers.set_login_otp_required(customer_id, required)
        audit(uow, now, Action.LOGIN_OTP_CHANGED, actor, contract_id=customer.contract_id,
              reason="on" if required else "off")
        uow.commit()


# --- what the customer's screens show of their one-time password ---------------------------


@dataclass(frozen=True)
class OtpStatus:
    """Where the customer's one-time password stands: not in use (``state`` None: their
    transactions take the confirmation password), usable, or bound but taking no codes
    (locked after wrong codes, suspended by the bank) until the bank acts."""

    state: TokenState | None
    serial: str | None = None

    @property
    def in_use(self) -> bool:
        return self.state is not None

    @property
    def refusal(self) -> AuthenticationFailed | None:
        """What a code would be refused with now (``TokenLocked``, ``TokenSuspended``): the
        screens say it instead of asking for a code. None while the token takes codes, or
        when OTP is not in use."""
        if self.state is None or self.state is TokenState.ACTIVE:
            return None
        return state_error(self.state)


def otp_status(ctx: Context, customer_id: int) -> OtpStatus:
    """The state of the customer's bound token (a locked or suspended one still binds them
    to OTP: there is no fallback to the confirmation password)."""
    with ctx.uow() as uow:
        token = uow.tokens.bound_to(customer_id)
    return OtpStatus(None) if token is None else OtpStatus(token.state, token.serial)


#: The lifecycle events of a customer's tokens that their OTP history lists.
HISTORY_EVENTS = frozenset({
    Action.TOKEN_BOUND, Action.TOKEN_EXCHANGED, Action.TOKEN_STOPPED, Action.TOKEN_LOCKED,
    Action.TOKEN_UNLOCKED, Action.TOKEN_SUSPENDED, Action.TOKEN_RESUMED, Action.TOKEN_REVOKED,
    Action.TOKEN_RESYNCED, Action.LOGIN_OTP_CHANGED,
})
#: Events read to make the history (newest first); it shows at most ``HISTORY_LIMIT``.
_HISTORY_READ = 500
HISTORY_LIMIT = 50


def otp_history(ctx: Context, contract_id: str, *, limit: int = HISTORY_LIMIT,
                ) -> Sequence[AuditEvent]:
    """The customer's OTP history, newest first: each use of a code (accepted with its
    purpose: login, transfer, bill payment, ...; or refused, with the reason) and the
    lifecycle of their tokens (registered, locked, suspended by the bank, ...).

    An accepted code without a purpose was a step of 利用開始, 利用中止, 交換 or a settings
    change: the event of that change is listed instead."""
    with ctx.uow() as uow:
        events = uow.audit.recent(limit=_HISTORY_READ, contract_id=contract_id)
    listed = [e for e in events if _listed(e)]
    return listed[:limit]


def _listed(event: AuditEvent) -> bool:
    if event.action is Action.TOKEN_CODE_CHECKED:
        return event.outcome is Outcome.FAILURE or event.reason is not None
    return event.action in HISTORY_EVENTS and event.outcome is Outcome.SUCCESS
