"""Bank staff accounts: creation with an own TOTP token, and console sign-in.

Sign-in checks the password, then the staff member's code through the same
``verify_code`` path as customers: the same drift, replay and lockout rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kinko.domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from kinko.domain.events import OPERATOR, Action, Actor, Outcome
from kinko.domain.lifecycle import TokenEvent, TokenState, transition
from kinko.domain.model import StaffMember, StaffRole, TokenOrigin
from kinko.domain.secrets import Code, Password
from kinko.services.context import Context
from kinko.services.credentials import Weighed, weigh
from kinko.services.customers import validate_password
from kinko.services.issuance import IssuedToken, issue_token
from kinko.services.ports import UnitOfWork
from kinko.services.verification import audit, verify_code

NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")


class StaffSignInFailed(AuthenticationFailed):
    """The staff ID, password or code is not correct (which one is not said)."""

    code = "staff_sign_in_failed"


@dataclass(frozen=True)
class NewStaff:
    member: StaffMember
    token: IssuedToken


def add_staff(
    ctx: Context, *, name: str, display_name: str, role: StaffRole, password: Password,
    actor: Actor = OPERATOR, origin: TokenOrigin = TokenOrigin.STAFF,
) -> NewStaff:
    """A staff member with an active TOTP token of their own (show its otpauth:// once)."""
    if not NAME.match(name):
        raise InvalidInput("staff ID must be 2-32 characters: a-z first, then a-z 0-9 . _ -")
    display_name = display_name.strip() or name
    validate_password(password, label="staff password")
    if len(password.reveal()) < 10:
        raise InvalidInput("staff password must be at least 10 characters")
    password_hash = ctx.hasher.hash(password)
    with ctx.uow() as uow:
        if uow.staff.by_name(name) is not None:
            raise Conflict(f"staff ID {name} already exists")
    issued = issue_token(ctx, origin, actor=actor)
    try:
        member = _bind_new_member(ctx, issued, name=name, display_name=display_name,
                                  role=role, password_hash=password_hash, actor=actor)
    except Conflict:
        # The same name added meanwhile by someone else: the token made for this attempt
        # is revoked, never left unbound for a customer to register.
        _withdraw(ctx, issued, actor)
        raise
    return NewStaff(member, issued)


def _bind_new_member(ctx: Context, issued: IssuedToken, *, name: str, display_name: str,
                     role: StaffRole, password_hash: str, actor: Actor) -> StaffMember:
    now = ctx.clock()
    with ctx.uow() as uow:
        # The staff ID's uniqueness is the store's: Conflict if it was taken meanwhile.
        member = uow.staff.add(name=name, display_name=display_name, role=role,
                               password_hash=password_hash, now=now)
        if not uow.tokens.change_state(issued.token.id, from_states={TokenState.UNBOUND},
                                       to_state=transition(TokenState.UNBOUND, TokenEvent.BIND),
                                       now=now, staff_id=member.id):
            raise Conflict("the new staff token could not be bound")
        audit(uow, now, Action.STAFF_CREATED, actor, serial=issued.token.serial,
              reason=f"{name}:{role.value}")
        uow.commit()
        return uow.staff.get(member.id) or member


def _withdraw(ctx: Context, issued: IssuedToken, actor: Actor) -> None:
    now = ctx.clock()
    with ctx.uow() as uow:
        if uow.tokens.change_state(issued.token.id, from_states={TokenState.UNBOUND},
                                   to_state=transition(TokenState.UNBOUND, TokenEvent.REVOKE),
                                   now=now):
            audit(uow, now, Action.TOKEN_REVOKED, actor, serial=issued.token.serial,
                  reason="staff_not_created")
        uow.commit()


def sign_in(ctx: Context, name: str, password: Password, code: Code) -> StaffMember:
    """Password and TOTP together; any failure reads the same to the person signing in.

    The password goes through ``credentials.weigh``, the rule customers' passwords follow
    too: however many attempts arrive at once, no more than five are weighed before the
    lock, and a locked password costs the same hash as a wrong one.
    """
    actor = Actor.staff(name[:32])
    with ctx.uow() as uow:
        member = uow.staff.by_name(name)
    if member is None or not member.active:
        ctx.hasher.dummy_verify(password)
        _audit_sign_in(ctx, actor, Outcome.FAILURE, "unknown_staff")
        raise StaffSignInFailed()
    staff_id = member.id

    def record(uow: UnitOfWork, weighed: Weighed) -> None:
        if not weighed.accepted:
            reason = ("wrong_password" if weighed.claimed and not weighed.locked_now
                      else "password_locked")
            audit(uow, ctx.clock(), Action.STAFF_SIGN_IN, actor, outcome=Outcome.FAILURE,
                  reason=reason)

    weighed = weigh(ctx, lambda uow: uow.staff.password_counter(staff_id),
                    member.password.hash, password, record=record)
    if not weighed.accepted:
        raise StaffSignInFailed()
    if member.token_id is None:
        _audit_sign_in(ctx, actor, Outcome.FAILURE, "no_token")
        raise StaffSignInFailed()
    try:
        verify_code(ctx, member.token_id, code, actor=actor)
    except AuthenticationFailed as error:
        _audit_sign_in(ctx, actor, Outcome.FAILURE, error.code)
        raise StaffSignInFailed() from None
    _audit_sign_in(ctx, actor, Outcome.SUCCESS, None)
    return member


def get_staff(ctx: Context, staff_id: int) -> StaffMember:
    with ctx.uow() as uow:
        member = uow.staff.get(staff_id)
    if member is None or not member.active:
        raise NotFound("no such staff member")
    return member


def _audit_sign_in(ctx: Context, actor: Actor, outcome: Outcome, reason: str | None) -> None:
    with ctx.uow() as uow:
        audit(uow, ctx.clock(), Action.STAFF_SIGN_IN, actor, outcome=outcome, reason=reason)
        uow.commit()


def unlock_staff(ctx: Context, name: str, *, actor: Actor = OPERATOR) -> StaffMember:
    """Clear a staff member's password lock and their token's lock (after wrong codes)."""
    now = ctx.clock()
    with ctx.uow() as uow:
        member = uow.staff.by_name(name)
        if member is None:
            raise NotFound(f"no staff member {name}")
        uow.staff.unlock_password(member.id)
        if member.token_id is not None:
            uow.tokens.change_state(member.token_id, from_states={TokenState.LOCKED},
                                    to_state=transition(TokenState.LOCKED, TokenEvent.UNLOCK),
                                    now=now, reset_failures=True)
        audit(uow, now, Action.TOKEN_UNLOCKED, actor, reason=f"staff:{name}")
        uow.commit()
    return member
