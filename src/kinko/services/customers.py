"""Creating customers and their settings (login OTP on or off).

Passwords are stored only as argon2id hashes.
"""

from __future__ import annotations

from kinko.domain.errors import Conflict, InvalidInput, NotFound, TokenRevoked
from kinko.domain.events import OPERATOR, Action, Actor, Channel
from kinko.domain.model import Customer
from kinko.domain.secrets import Code, Password
from kinko.domain.serials import parse_contract_id
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
