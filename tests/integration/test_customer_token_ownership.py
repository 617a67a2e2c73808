"""Staff actions taken for a customer reach that customer's tokens only.

One rule (``staff.customer_token``) behind every path: the staff services, the console's
services, four-eyes requests and their approval, and the bank systems' API. A staff member's
own sign-in token, another customer's token and a token nobody registered are refused with
``NotCustomersToken`` (a ``NotFound``), the token is left as it was, and only the refusal is
audited. Staff tokens are unlocked by ``staff_accounts.unlock_staff`` (`kinko staff unlock`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kinko.domain.errors import NotCustomersToken, NotFound
from kinko.domain.events import OPERATOR, Action, Actor, AuditEvent, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import (
    ApiClient,
    Customer,
    RequestKind,
    RequestState,
    StaffMember,
    StaffRole,
    Token,
)
from kinko.domain.secrets import Password
from kinko.services import api_clients, approvals, console, integration, staff, staff_accounts
from kinko.services.issuance import IssuedToken
from tests.support import Harness

REASON = "紛失届"
CLERK = Actor.staff("suzuki")

#: The state a target token is put in first, so that the action would otherwise be allowed.
READY = {"suspend": TokenState.ACTIVE, "resume": TokenState.SUSPENDED,
         "unlock": TokenState.LOCKED, "revoke": TokenState.ACTIVE,
         "resync": TokenState.ACTIVE}
AUDITED = {"suspend": Action.TOKEN_SUSPENDED, "resume": Action.TOKEN_RESUMED,
           "unlock": Action.TOKEN_UNLOCKED, "revoke": Action.TOKEN_REVOKED,
           "resync": Action.TOKEN_RESYNCED}
ACTIONS = tuple(READY)


def add_staff(h: Harness, name: str, role: StaffRole) -> tuple[StaffMember, IssuedToken]:
    created = staff_accounts.add_staff(h.ctx, name=name, display_name=name, role=role,
                                       password=Password(f"{name}-password-1"))
    return created.member, created.token


def row(h: Harness, serial: str) -> Token:
    with h.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
    assert token is not None
    return token


def put(h: Harness, serial: str, to: TokenState) -> None:
    """Move a token straight to ``to`` in the store: the state a test starts from."""
    token = row(h, serial)
    if token.state is not to:
        with h.ctx.uow() as uow:
            assert uow.tokens.change_state(token.id, from_states={token.state}, to_state=to,
                                           now=h.clock())
            uow.commit()


def trail(h: Harness, serial: str) -> list[AuditEvent]:
    with h.ctx.uow() as uow:
        return list(reversed(uow.audit.recent(limit=500, serial=serial)))


def staff_action(h: Harness, action: str, target: IssuedToken,
                 contract_id: str | None) -> Callable[[], object]:
    """The ``staff`` service call for ``action`` on ``target``, for ``contract_id``."""
    serial = target.token.serial
    if action == "resync":
        return lambda: staff.resync(h.ctx, serial, h.code(target, steps=20),
                                    h.code(target, steps=21), reason=REASON, actor=CLERK,
                                    contract_id=contract_id)
    call = {"suspend": staff.suspend, "resume": staff.resume, "unlock": staff.unlock_token,
            "revoke": staff.revoke}[action]
    return lambda: call(h.ctx, serial, reason=REASON, actor=CLERK, contract_id=contract_id)


def assert_refused(h: Harness, target: IssuedToken, action: str, call: Callable[[], object],
                   *, audited: Action, actor: str, contract_id: str | None) -> None:
    """``call`` is refused; ``target`` is left as it was and only the refusal is recorded."""
    serial = target.token.serial
    put(h, serial, READY[action])
    before, events = row(h, serial), trail(h, serial)
    with pytest.raises(NotCustomersToken):
        call()
    assert row(h, serial) == before
    added = [(e.action, e.outcome, e.actor, e.contract_id, e.reason)
             for e in trail(h, serial)[len(events):]]
    assert added == [(audited, Outcome.FAILURE, actor, contract_id, staff.REFUSAL_REASON)]


@pytest.fixture
def caller(harness: Harness) -> Customer:
    customer = harness.customer("1000000001")
    harness.enroll(customer)
    return customer


# --- the staff services ----------------------------------------------------------------

@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("for_customer", [True, False], ids=["for_a_customer", "any_customer"])
def test_staff_services_refuse_a_staff_members_sign_in_token(
    harness: Harness, caller: Customer, action: str, for_customer: bool,
) -> None:
    _, token = add_staff(harness, "sato", StaffRole.SUPERVISOR)
    contract_id = caller.contract_id if for_customer else None
    assert_refused(harness, token, action, staff_action(harness, action, token, contract_id),
                   audited=AUDITED[action], actor=CLERK.name, contract_id=contract_id)


@pytest.mark.parametrize("action", ACTIONS)
def test_staff_services_refuse_another_customers_token(
    harness: Harness, caller: Customer, action: str,
) -> None:
    theirs = harness.enroll(harness.customer("1000000002", name="金庫 花子"))
    assert_refused(harness, theirs, action,
                   staff_action(harness, action, theirs, caller.contract_id),
                   audited=AUDITED[action], actor=CLERK.name, contract_id=caller.contract_id)


@pytest.mark.parametrize("action", ["revoke", "suspend"])
@pytest.mark.parametrize("for_customer", [True, False], ids=["for_a_customer", "any_customer"])
def test_staff_services_refuse_a_token_nobody_registered(
    harness: Harness, caller: Customer, action: str, for_customer: bool,
) -> None:
    spare = harness.issue()
    before = row(harness, spare.token.serial)
    with pytest.raises(NotCustomersToken):
        staff_action(harness, action, spare, caller.contract_id if for_customer else None)()
    assert row(harness, spare.token.serial) == before


def test_the_refusal_is_a_plain_not_found_that_says_nothing_of_the_token(
    harness: Harness, caller: Customer,
) -> None:
    _, token = add_staff(harness, "sato", StaffRole.SUPERVISOR)
    theirs = harness.enroll(harness.customer("1000000002", name="金庫 花子"))
    messages = set()
    for target in (token, theirs, harness.issue()):
        with pytest.raises(NotFound) as refused:
            staff.suspend(harness.ctx, target.token.serial, reason=REASON, actor=CLERK,
                          contract_id=caller.contract_id)
        assert refused.value.code == "not_found"
        messages.add(str(refused.value))
    assert len(messages) == 1  # a staff token, another's and nobody's read the same


@pytest.mark.parametrize("action", ACTIONS)
def test_the_customers_own_token_is_acted_on(harness: Harness, action: str) -> None:
    customer = harness.customer()
    issued = harness.enroll(customer)
    put(harness, issued.token.serial, READY[action])
    staff_action(harness, action, issued, customer.contract_id)()
    done = [e for e in trail(harness, issued.token.serial) if e.action is AUDITED[action]]
    assert [(e.outcome, e.contract_id) for e in done] == [
        (Outcome.SUCCESS, customer.contract_id)]


# --- the console's services ------------------------------------------------------------

def console_action(h: Harness, member: StaffMember, action: str, contract_id: str,
                   target: IssuedToken) -> Callable[[], object]:
    serial = target.token.serial
    if action == "resync":
        return lambda: console.resync(h.ctx, member, contract_id, serial,
                                      h.code(target, steps=20), h.code(target, steps=21),
                                      REASON)
    if action == "revoke":
        return lambda: approvals.request_revoke(h.ctx, member, serial, REASON,
                                                contract_id=contract_id)
    call = {"suspend": console.suspend, "resume": console.resume,
            "unlock": console.unlock_token}[action]
    return lambda: call(h.ctx, member, contract_id, serial, REASON)


@pytest.mark.parametrize("action", ACTIONS)
def test_the_console_services_refuse_a_staff_members_token(
    harness: Harness, caller: Customer, action: str,
) -> None:
    supervisor, _ = add_staff(harness, "sato", StaffRole.SUPERVISOR)
    _, operators_token = add_staff(harness, "suzuki", StaffRole.OPERATOR)
    assert_refused(
        harness, operators_token, action,
        console_action(harness, supervisor, action, caller.contract_id, operators_token),
        audited=Action.REQUEST_CREATED if action == "revoke" else AUDITED[action],
        actor="staff:sato", contract_id=caller.contract_id)
    with harness.ctx.uow() as uow:
        assert list(uow.requests.pending()) == []


@pytest.mark.parametrize("action", ACTIONS)
def test_the_console_services_refuse_another_customers_token(
    harness: Harness, caller: Customer, action: str,
) -> None:
    supervisor, _ = add_staff(harness, "sato", StaffRole.SUPERVISOR)
    theirs = harness.enroll(harness.customer("1000000002", name="金庫 花子"))
    assert_refused(
        harness, theirs, action,
        console_action(harness, supervisor, action, caller.contract_id, theirs),
        audited=Action.REQUEST_CREATED if action == "revoke" else AUDITED[action],
        actor="staff:sato", contract_id=caller.contract_id)


def test_searching_by_a_staff_serial_finds_no_customer(harness: Harness) -> None:
    _, token = add_staff(harness, "sato", StaffRole.SUPERVISOR)
    with pytest.raises(NotFound):
        console.contract_of_serial(harness.ctx, token.token.serial)


# --- four eyes -------------------------------------------------------------------------

def test_an_approval_still_checks_the_token_is_the_requests_customers(
    harness: Harness, caller: Customer,
) -> None:
    """A request row naming a staff token (written by an older release, or by hand) is not
    carried out: the approval is refused and the request stays pending."""
    operator, _ = add_staff(harness, "suzuki", StaffRole.OPERATOR)
    _, supervisors_token = add_staff(harness, "sato", StaffRole.SUPERVISOR)
    approver, _ = add_staff(harness, "tanaka", StaffRole.SUPERVISOR)
    with harness.ctx.uow() as uow:
        request = uow.requests.add(kind=RequestKind.REVOKE, contract_id=caller.contract_id,
                                   serial=supervisors_token.token.serial, password_kind=None,
                                   reason=REASON, requested_by=operator.id,
                                   requested_by_client=None, now=harness.clock())
        uow.commit()
    with pytest.raises(NotCustomersToken):
        approvals.approve(harness.ctx, approver, request.id)
    assert row(harness, supervisors_token.token.serial).state is TokenState.ACTIVE
    with harness.ctx.uow() as uow:
        assert uow.requests.get(request.id).state is RequestState.PENDING  # type: ignore[union-attr]


def test_staff_tokens_are_unlocked_by_the_staff_account_path_with_the_member_named(
    harness: Harness,
) -> None:
    _, token = add_staff(harness, "sato", StaffRole.SUPERVISOR)
    put(harness, token.token.serial, TokenState.LOCKED)
    staff_accounts.unlock_staff(harness.ctx, "sato", actor=OPERATOR)
    assert row(harness, token.token.serial).state is TokenState.ACTIVE
    with harness.ctx.uow() as uow:
        unlocked = [e for e in uow.audit.recent(limit=50) if e.action is Action.TOKEN_UNLOCKED]
    assert [(e.actor, e.reason) for e in unlocked] == [(OPERATOR.name, "staff:sato")]


# --- the bank systems' API use cases ---------------------------------------------------

@pytest.fixture
def client(harness: Harness) -> ApiClient:
    return api_clients.add_client(harness.ctx, "call-centre", ["manage"]).client


@pytest.mark.parametrize("action", ACTIONS)
def test_the_api_use_cases_refuse_a_staff_members_token(
    harness: Harness, client: ApiClient, action: str,
) -> None:
    _, token = add_staff(harness, "sato", StaffRole.SUPERVISOR)
    serial = token.token.serial
    h = harness
    calls: dict[str, Callable[[], object]] = {
        "suspend": lambda: integration.suspend(h.ctx, client, serial, REASON),
        "resume": lambda: integration.resume(h.ctx, client, serial, REASON),
        "unlock": lambda: integration.unlock_token(h.ctx, client, serial, REASON),
        "revoke": lambda: integration.request_revoke(h.ctx, client, serial, REASON),
        "resync": lambda: integration.resync(h.ctx, client, serial, h.code(token, steps=20),
                                             h.code(token, steps=21), REASON),
    }
    assert_refused(h, token, action, calls[action],
                   audited=Action.REQUEST_CREATED if action == "revoke" else AUDITED[action],
                   actor="api:call-centre", contract_id=None)
