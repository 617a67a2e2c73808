"""The use cases of the bank systems' JSON API, each acting as the calling API client.

Verification goes through ``verify_code`` like the web; the customer flows call the same
typed steps in the guide's order; staff actions and four-eyes requests reuse ``staff`` and
``approvals``. Every call is audited with the actor ``api:<client name>`` on channel ``api``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kinko.domain.errors import InvalidInput, KinkoError, NotFound, OtpNotInUse
from kinko.domain.events import Action, Actor, Outcome
from kinko.domain.model import ApiClient, Customer, PasswordKind, StaffRequest, Token
from kinko.domain.secrets import Code, Password
from kinko.domain.serials import parse_contract_id, parse_serial
from kinko.services import approvals, console, enrollment, exchange, staff, stopping
from kinko.services.context import Context
from kinko.services.ports import TokenRef
from kinko.services.transactions import Method
from kinko.services.verification import audit, verify_code


class Purpose(enum.StrEnum):
    """What a code is checked for. Both take the same path and rules today; the caller says
    which so that the trail and any later per-purpose policy need no API change."""

    LOGIN = "login"
    TRANSACTION = "transaction"


@dataclass(frozen=True)
class Verified:
    contract_id: str
    serial: str
    drift: int
    purpose: Purpose


@dataclass(frozen=True)
class OtpStatus:
    customer: Customer
    token: Token | None   # the bound token (active, locked or suspended), if any

    @property
    def in_use(self) -> bool:
        return self.token is not None

    @property
    def transaction_method(self) -> Method:
        return Method.OTP if self.token is not None else Method.CONFIRMATION_PASSWORD


def _actor(client: ApiClient) -> Actor:
    return Actor.api_client(client.name)


def record_read(ctx: Context, client: ApiClient, what: str, *, contract_id: str | None = None,
                serial: str | None = None) -> None:
    """Audit a read by a bank system (``api:read``): who read what about whom."""
    with ctx.uow() as uow:
        audit(uow, ctx.clock(), Action.API_READ, _actor(client), contract_id=contract_id,
              serial=serial, reason=what)
        uow.commit()


# --- verification ----------------------------------------------------------------------

def verify(ctx: Context, client: ApiClient, *, code: Code, purpose: Purpose,
           contract_id: str | None = None, serial: str | None = None) -> Verified:
    """Check a code of the customer's bound token, found by contract ID or by serial, on
    ``verify_code``'s one path: one read, the decision, one statement that settles it."""
    if (contract_id is None) == (serial is None):
        raise InvalidInput("give either contract_id or serial")
    actor = _actor(client)
    contract = parse_contract_id(contract_id) if contract_id is not None else None
    wanted = parse_serial(serial) if serial is not None else None
    ref = TokenRef(contract_id=contract) if contract is not None else TokenRef(serial=wanted)
    try:
        accepted = verify_code(ctx, ref, code, actor=actor, purpose=purpose.value)
    except NotFound:
        error = _why_no_token(ctx, contract)
        # verify_code audits every code it checks; a request that never got that far is
        # audited here, so that no API call goes unrecorded.
        with ctx.uow() as uow:
            audit(uow, ctx.clock(), Action.TOKEN_CODE_CHECKED, actor, outcome=Outcome.FAILURE,
                  contract_id=contract, serial=wanted, reason=error.code)
            uow.commit()
        raise error from None
    if accepted.contract_id is None:  # never: both lookups find a customer's token
        raise NotFound("no customer token with this serial number")
    return Verified(accepted.contract_id, accepted.serial, accepted.drift, purpose)


def _why_no_token(ctx: Context, contract_id: str | None) -> KinkoError:
    """Why no customer token answered: no such customer, or one without a bound token."""
    if contract_id is None:
        return NotFound("no customer token with this serial number")
    with ctx.uow() as uow:
        customer = uow.customers.by_contract_id(contract_id)
    return OtpNotInUse() if customer is not None else NotFound("no such customer")


# --- reading ---------------------------------------------------------------------------

def otp_status(ctx: Context, client: ApiClient, contract_id: str) -> OtpStatus:
    contract_id = parse_contract_id(contract_id)
    with ctx.uow() as uow:
        customer = uow.customers.by_contract_id(contract_id)
        token = uow.tokens.bound_to(customer.id) if customer is not None else None
    if customer is None:
        raise NotFound(f"no customer with contract ID {contract_id}")
    record_read(ctx, client, "otp_status", contract_id=contract_id)
    return OtpStatus(customer, token)


def token_history(ctx: Context, client: ApiClient, contract_id: str) -> console.CustomerView:
    view = console.customer_view(ctx, contract_id)
    record_read(ctx, client, "token_history", contract_id=view.customer.contract_id)
    return view


# --- the customer flows, for an IB front end that is not kinko's own -------------------

def enroll(ctx: Context, client: ApiClient, contract_id: str, *, login_password: Password,
           serial: str, code: Code, login_otp_required: bool,
           confirmation_password: Password) -> Token:
    """利用開始 ②–⑦ in one call: each step checks and commits as on the web, so a code
    checked at ④ stays spent even when ⑥'s confirmation password is then wrong."""
    actor = _actor(client)
    started = enrollment.begin(ctx, contract_id, login_password, actor=actor)
    confirmed = enrollment.confirm_token(ctx, started, serial, code, actor=actor)
    return enrollment.register(ctx, confirmed, login_otp_required=login_otp_required,
                               confirmation_password=confirmation_password, actor=actor)


def stop(ctx: Context, client: ApiClient, contract_id: str, *, login_password: Password,
         code: Code, confirmation_password: Password) -> str:
    """利用中止; returns the serial of the token that was stopped."""
    actor = _actor(client)
    started = stopping.begin(ctx, contract_id, login_password, actor=actor)
    stopping.stop(ctx, started, code, confirmation_password, actor=actor)
    return started.serial


def exchange_token(ctx: Context, client: ApiClient, contract_id: str, *,
                   login_password: Password, old_code: Code, serial: str,
                   code: Code) -> tuple[str, Token]:
    """交換; returns the old token's serial and the new, now active token."""
    actor = _actor(client)
    started = exchange.begin(ctx, contract_id, login_password, actor=actor)
    confirmed = exchange.confirm_old_token(ctx, started, old_code, actor=actor)
    return started.old_serial, exchange.register_new_token(ctx, confirmed, serial, code,
                                                           actor=actor)


# --- the staff actions of a call centre's system ---------------------------------------

# The API is given a serial alone: ``contract_id=None`` lets ``staff.customer_token`` accept
# any customer's token and refuse (404) staff sign-in tokens and tokens nobody registered.

def suspend(ctx: Context, client: ApiClient, serial: str, reason: str) -> Token:
    return staff.suspend(ctx, serial, reason=reason, actor=_actor(client), contract_id=None)


def resume(ctx: Context, client: ApiClient, serial: str, reason: str) -> Token:
    return staff.resume(ctx, serial, reason=reason, actor=_actor(client), contract_id=None)


def unlock_token(ctx: Context, client: ApiClient, serial: str, reason: str) -> Token:
    return staff.unlock_token(ctx, serial, reason=reason, actor=_actor(client),
                              contract_id=None)


def resync(ctx: Context, client: ApiClient, serial: str, first: Code, second: Code,
           reason: str) -> Token:
    return staff.resync(ctx, serial, first, second, reason=reason, actor=_actor(client),
                        contract_id=None)


def request_revoke(ctx: Context, client: ApiClient, serial: str, reason: str) -> StaffRequest:
    """A four-eyes request: a supervisor approves it in the staff console before it runs."""
    return approvals.request_revoke(ctx, client, serial, reason)


def request_password_unlock(ctx: Context, client: ApiClient, contract_id: str,
                            kind: PasswordKind, reason: str) -> StaffRequest:
    return approvals.request_password_unlock(ctx, client, contract_id, kind, reason)


def get_request(ctx: Context, client: ApiClient, request_id: int) -> StaffRequest:
    with ctx.uow() as uow:
        request = uow.requests.get(request_id)
    if request is None:
        raise NotFound("no such request")
    record_read(ctx, client, f"request#{request.id}", contract_id=request.contract_id,
                serial=request.serial)
    return request
