"""What the staff console shows and does, with the role of the staff member checked here
(not only in the web layer): the customer view, and the actions one person may take alone.

Revokes and password unlocks go through ``approvals`` (a second person). Every token action
names the customer it is for and reaches only that customer's tokens
(``staff.customer_token``); staff members' own tokens are not managed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kinko.domain.errors import NotFound
from kinko.domain.events import Action, Actor, AuditEvent, Outcome
from kinko.domain.model import Customer, StaffMember, StaffRole, Token
from kinko.domain.secrets import Code
from kinko.domain.serials import parse_contract_id
from kinko.services import staff
from kinko.services.approvals import require_role
from kinko.services.context import Context

REASONS = ("紛失届", "アプリ削除", "誤入力ロック", "本人申出", "その他")


@dataclass(frozen=True)
class TokenHistory:
    token: Token
    events: Sequence[AuditEvent]   # the token's lifecycle events, oldest first

    @property
    def how_bound(self) -> str | None:
        for event in self.events:
            if event.action is Action.TOKEN_BOUND:
                return event.reason
        return None

    @property
    def how_ended(self) -> AuditEvent | None:
        ends = (Action.TOKEN_STOPPED, Action.TOKEN_EXCHANGED, Action.TOKEN_REVOKED,
                Action.TOKEN_EXPIRED)
        return next((e for e in reversed(self.events) if e.action in ends), None)


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    current: Token | None
    tokens: Sequence[TokenHistory]     # every token the contract ever had, newest first
    last_success: datetime | None      # the last accepted OTP of any of its tokens
    recent: Sequence[AuditEvent]       # newest first


LIFECYCLE = frozenset({
    Action.TOKEN_ISSUED, Action.TOKEN_BOUND, Action.TOKEN_STOPPED, Action.TOKEN_EXCHANGED,
    Action.TOKEN_LOCKED, Action.TOKEN_UNLOCKED, Action.TOKEN_SUSPENDED, Action.TOKEN_RESUMED,
    Action.TOKEN_REVOKED, Action.TOKEN_EXPIRED, Action.TOKEN_RESYNCED,
})


def customer_view(ctx: Context, contract_id: str) -> CustomerView:
    contract_id = parse_contract_id(contract_id)
    with ctx.uow() as uow:
        customer = uow.customers.by_contract_id(contract_id)
        if customer is None:
            raise NotFound(f"no customer with contract ID {contract_id}")
        tokens = list(uow.tokens.of_customer(customer.id))
        current = uow.tokens.bound_to(customer.id)
        histories = []
        for token in reversed(tokens):
            events = [e for e in uow.audit.recent(limit=500, serial=token.serial)
                      if e.action in LIFECYCLE]
            histories.append(TokenHistory(token, list(reversed(events))))
        recent = uow.audit.recent(limit=50, contract_id=contract_id)
    used = [t.last_used_at for t in tokens if t.last_used_at is not None]
    return CustomerView(customer, current, histories, max(used) if used else None, recent)


def contract_of_serial(ctx: Context, serial: str) -> str:
    """The contract a token belongs to or belonged to (for searching by serial)."""
    with ctx.uow() as uow:
        _, customer = staff.customer_token(uow, serial, None)  # NotFound for anything else
    return customer.contract_id


def suspend(ctx: Context, member: StaffMember, contract_id: str, serial: str,
            reason: str) -> Token:
    """Operator or supervisor: stop a token of this customer at once (phone reported lost)."""
    return staff.suspend(ctx, serial, reason=reason, actor=Actor.staff(member.name),
                         contract_id=contract_id)


def resume(ctx: Context, member: StaffMember, contract_id: str, serial: str,
           reason: str) -> Token:
    """Operator or supervisor: the phone was found."""
    return staff.resume(ctx, serial, reason=reason, actor=Actor.staff(member.name),
                        contract_id=contract_id)


def unlock_token(ctx: Context, member: StaffMember, contract_id: str, serial: str,
                 reason: str) -> Token:
    """Operator or supervisor: clear the lock after wrong codes."""
    return staff.unlock_token(ctx, serial, reason=reason, actor=Actor.staff(member.name),
                              contract_id=contract_id)


def resync(ctx: Context, member: StaffMember, contract_id: str, serial: str, first: Code,
           second: Code, reason: str) -> Token:
    """Supervisor only: two consecutive codes read out by the customer."""
    require_role(member, StaffRole.SUPERVISOR)
    return staff.resync(ctx, serial, first, second, reason=reason,
                        actor=Actor.staff(member.name), contract_id=contract_id)


def failed_events(view: CustomerView) -> list[AuditEvent]:
    return [e for e in view.recent if e.outcome is Outcome.FAILURE]
