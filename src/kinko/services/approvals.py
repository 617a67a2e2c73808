"""Four-eyes actions: a revoke or a password unlock is requested by one staff member (or a
call-centre system's API client) and carried out only when a different supervisor approves it.

Every request, approval and rejection is an audit event with the staff ID (or ``api:<name>``).
"""

from __future__ import annotations

from datetime import datetime

from kinko.domain.errors import (
    AlreadyDecided,
    AlreadyRequested,
    InvalidInput,
    KinkoError,
    NotCustomersToken,
    NotFound,
    PasswordNotLocked,
)
from kinko.domain.events import Action, Actor
from kinko.domain.lifecycle import TokenEvent, transition
from kinko.domain.model import (
    ApiClient,
    PasswordKind,
    RequestKind,
    RequestState,
    StaffMember,
    StaffRequest,
    StaffRole,
)
from kinko.domain.serials import parse_contract_id, parse_serial
from kinko.services import staff
from kinko.services.context import Context
from kinko.services.customers import get_customer
from kinko.services.ports import UnitOfWork
from kinko.services.verification import audit


class NotPermitted(KinkoError):
    """This staff member's role does not allow the action."""

    code = "not_permitted"


#: Who may ask for a four-eyes action: a staff member, or a call-centre system's API client
#: (``manage`` scope). Either way only a supervisor in the console can approve it.
Requester = StaffMember | ApiClient


def require_role(member: StaffMember, role: StaffRole) -> None:
    if role is StaffRole.SUPERVISOR and member.role is not StaffRole.SUPERVISOR:
        raise NotPermitted("only a supervisor may do this")


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("a reason (1 to 200 characters) is required")
    return reason


def request_revoke(ctx: Context, member: Requester, serial: str, reason: str, *,
                   contract_id: str | None = None) -> StaffRequest:
    """Ask for a token to be revoked for its customer (lost for good, app uninstalled): the
    customer with ``contract_id`` (the console), or whichever customer owns the serial (the
    API). Never a staff member's token (``staff.customer_token``)."""
    serial = parse_serial(serial)
    reason = _require_reason(reason)
    with ctx.uow() as uow:
        try:
            token, customer = staff.customer_token(uow, serial, contract_id)
        except NotCustomersToken:
            staff.audit_refusal(uow, ctx.clock(), Action.REQUEST_CREATED, _actor(member),
                                serial=serial, contract_id=contract_id)
            uow.commit()
            raise
    transition(token.state, TokenEvent.REVOKE)  # refuse at once what could never be approved
    return _create(ctx, member, RequestKind.REVOKE, customer.contract_id, serial, None, reason)


def request_password_unlock(ctx: Context, member: Requester, contract_id: str,
                            kind: PasswordKind, reason: str) -> StaffRequest:
    customer = get_customer(ctx, parse_contract_id(contract_id))
    if not customer.password(kind).locked:
        raise PasswordNotLocked(kind.value)
    return _create(ctx, member, RequestKind.UNLOCK_PASSWORD, customer.contract_id, None, kind,
                   _require_reason(reason))


def _actor(member: Requester) -> Actor:
    if isinstance(member, ApiClient):
        return Actor.api_client(member.name)
    return Actor.staff(member.name)


def _create(ctx: Context, member: Requester, kind: RequestKind, contract_id: str,
            serial: str | None, password_kind: PasswordKind | None,
            reason: str) -> StaffRequest:
    now = ctx.clock()
    is_client = isinstance(member, ApiClient)
    actor = _actor(member)
    with ctx.uow() as uow:
        if uow.requests.pending_for(kind, contract_id, serial, password_kind):
            raise AlreadyRequested("the same request is already waiting for approval")
        request = uow.requests.add(kind=kind, contract_id=contract_id, serial=serial,
                                   password_kind=password_kind, reason=reason,
                                   requested_by=None if is_client else member.id,
                                   requested_by_client=member.id if is_client else None,
                                   now=now)
        audit(uow, now, Action.REQUEST_CREATED, actor,
              contract_id=contract_id, serial=serial,
              reason=f"{kind.value}#{request.id}:{reason}"[:255])
        uow.commit()
    return request


def approve(ctx: Context, approver: StaffMember, request_id: int) -> StaffRequest:
    """A different supervisor approves: the action is carried out now."""
    require_role(approver, StaffRole.SUPERVISOR)
    request = _pending(ctx, request_id)
    if request.requested_by == approver.name:
        raise NotPermitted("nobody approves their own request")
    actor = Actor.staff(approver.name)
    reason = f"{request.reason} (申請番号 {request.id} / 申請者 {request.requested_by})"[:200]
    customer = get_customer(ctx, request.contract_id)
    now = ctx.clock()
    # One transaction: the decision and the action commit together or not at all, and the
    # conditional decide() makes sure two approvers cannot both carry it out.
    with ctx.uow() as uow:
        _decide_in(uow, now, approver, request, RequestState.APPROVED)
        if request.kind is RequestKind.REVOKE and request.serial is not None:
            # The request's own customer: the rule holds at approval as it did at request.
            staff.apply_in(uow, now, request.serial, TokenEvent.REVOKE, reason=reason,
                           actor=actor, contract_id=request.contract_id)
        elif request.kind is RequestKind.UNLOCK_PASSWORD and request.password_kind is not None:
            staff.unlock_password_in(uow, now, customer, request.password_kind, reason=reason,
                                     actor=actor)
        else:
            raise InvalidInput("the request is incomplete")
        uow.commit()
    return _pending_or_decided(ctx, request_id)


def reject(ctx: Context, approver: StaffMember, request_id: int) -> StaffRequest:
    require_role(approver, StaffRole.SUPERVISOR)
    request = _pending(ctx, request_id)
    _decide(ctx, approver, request, RequestState.REJECTED)
    return _pending_or_decided(ctx, request_id)


def pending(ctx: Context) -> list[StaffRequest]:
    with ctx.uow() as uow:
        return list(uow.requests.pending())


def _pending(ctx: Context, request_id: int) -> StaffRequest:
    request = _pending_or_decided(ctx, request_id)
    if request.state is not RequestState.PENDING:
        raise AlreadyDecided("this request has already been decided")
    return request


def _pending_or_decided(ctx: Context, request_id: int) -> StaffRequest:
    with ctx.uow() as uow:
        request = uow.requests.get(request_id)
    if request is None:
        raise NotFound("no such request")
    return request


def _decide(ctx: Context, approver: StaffMember, request: StaffRequest,
            state: RequestState) -> None:
    with ctx.uow() as uow:
        _decide_in(uow, ctx.clock(), approver, request, state)
        uow.commit()


def _decide_in(uow: UnitOfWork, now: datetime, approver: StaffMember, request: StaffRequest,
               state: RequestState) -> None:
    action = Action.REQUEST_APPROVED if state is RequestState.APPROVED else Action.REQUEST_REJECTED
    if not uow.requests.decide(request.id, state=state, decided_by=approver.id, now=now):
        raise AlreadyDecided("this request has already been decided")
    audit(uow, now, action, Actor.staff(approver.name), contract_id=request.contract_id,
          serial=request.serial, reason=f"{request.kind.value}#{request.id}")
