"""/api/v1 for the bank's systems: verify codes, read OTP status, the customer flows for a
front end that is not kinko's own, call-centre staff actions, and the audit trail.

The handlers only: thin as the other adapters, each takes its pydantic model (``models``)
and calls one service (``kinko.services.integration``, ``kinko.services.audit``); the route
class (``route.ApiRoute``) has checked the client's bearer secret and scope before, and
turns every failure into an RFC 9457 problem. ``POST /verify`` is answered by a plain ASGI
handler (``verify_endpoint``) before FastAPI sees the request; its route here documents it
and shares ``check_code`` with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, SecretStr

from kinko.domain.errors import InvalidInput
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import ApiClient, ApiScope, PasswordState, StaffRequest, Token
from kinko.domain.secrets import Code, Password
from kinko.domain.serials import normalize_digits, parse_contract_id, parse_serial
from kinko.services import audit, integration
from kinko.services.audit import AuditFilter
from kinko.services.context import Context
from kinko.services.transactions import Method
from kinko.web.api import docs
from kinko.web.api.models import (
    CONTRACT_ID,
    LENIENT,
    LUHN,
    PG_BIGINT_MAX,
    PG_INTEGER_MAX,
    PRINTABLE,
    SERIAL,
    AuditEventOut,
    AuditPage,
    ContractIdPath,
    CustomerStatus,
    EnrollmentRequest,
    EnrollmentResult,
    ExchangeRequest,
    ExchangeResult,
    NewRequest,
    PasswordStatus,
    RequestOut,
    ResyncRequest,
    RevokeRequestIn,
    SerialPath,
    StaffActionRequest,
    StopRequest,
    StopResult,
    TokenActionResult,
    TokenEventOut,
    TokenHistory,
    TokenHistoryItem,
    TokenStatus,
    VerifyByContractId,
    VerifyBySerial,
    VerifyRequest,
    VerifyResult,
)
from kinko.web.api.route import ApiRoute, Client, problems, scoped


def _code(value: SecretStr) -> Code:
    """An OTP as a bank system sends it: 6 to 8 digits after NFKC (full-width digits,
    spaces and hyphens allowed). Anything else is refused without touching a counter."""
    digits = normalize_digits(value.get_secret_value())
    if not (6 <= len(digits) <= 8 and digits.isascii() and digits.isdigit()):
        raise InvalidInput("otp must be 6 digits")
    return Code(digits)


def _password(value: SecretStr) -> Password:
    return Password(value.get_secret_value())


# --- the router --------------------------------------------------------------------------

#: What ``create_app`` includes: the operations below and the documentation routes.
router = APIRouter()
api = APIRouter(prefix="/api/v1", route_class=ApiRoute)

CODE_FAILURES = ("wrong_code", "replayed_code", "token_locked", "token_suspended",
                 "token_revoked", "token_expired")


@api.post(
    "/verify", response_model=VerifyResult, tags=["verification"],
    summary="Check a one-time password (login or transaction)",
    openapi_extra=scoped(ApiScope.VERIFY),
    responses=problems("not_found", "otp_not_in_use", *CODE_FAILURES),
)
def verify(body: VerifyRequest, client: Client, request: Request) -> Response:
    """Checks the code of the customer's token through the same path as the web (drift,
    replay, lockout, audit): a code accepted here is spent for the web too, and vice versa.
    """
    # Documentation: POST /api/v1/verify is answered by verify_endpoint before FastAPI's
    # router; this route describes it and, reached directly, does the same.
    answer = check_code(request.app.state.kinko.ctx, client, body)
    return Response(orjson.dumps(answer), media_type="application/json")


def check_code(ctx: Context, client: ApiClient,
               body: VerifyByContractId | VerifyBySerial) -> dict[str, Any]:
    """``POST /verify`` once its body is valid: the code checked on the one verification
    path, and ``VerifyResult``'s fields (the answer is sent as built, not validated again).
    Blocking (database work): run it in a worker thread."""
    contract_id, serial = ((None, body.serial) if isinstance(body, VerifyBySerial)
                           else (body.contract_id, None))
    verified = integration.verify(ctx, client, code=_code(body.otp), purpose=body.purpose,
                                  contract_id=contract_id, serial=serial)
    return {"result": "accepted", "contract_id": verified.contract_id,
            "serial": verified.serial, "drift": verified.drift,
            "purpose": str(verified.purpose)}


def _password_status(state: PasswordState) -> PasswordStatus:
    return PasswordStatus(failures=state.failures, locked=state.locked, locked_at=state.locked_at)


def _token_fields(token: Token) -> dict[str, Any]:
    return {"serial": token.serial, "state": token.state, "failures": token.failures,
            "drift": token.drift, "origin": token.origin, "created_at": token.created_at,
            "bound_at": token.bound_at, "state_changed_at": token.state_changed_at,
            "last_used_at": token.last_used_at}


@api.get(
    "/customers/{contract_id}", response_model=CustomerStatus, tags=["customers"],
    summary="A customer's OTP status", openapi_extra=scoped(ApiScope.VERIFY),
    responses=problems("not_found", body=False, serial=False),
)
def customer_status(contract_id: ContractIdPath, client: Client,
                    request: Request) -> CustomerStatus:
    status = integration.otp_status(request.app.state.kinko.ctx, client, contract_id)
    customer = status.customer
    return CustomerStatus(
        contract_id=customer.contract_id, otp_in_use=status.in_use,
        login_otp_required=customer.login_otp_required,
        transaction_method=status.transaction_method,
        token=TokenStatus(**_token_fields(status.token)) if status.token else None,
        login_password=_password_status(customer.login_password),
        confirmation_password=_password_status(customer.confirmation_password))


@api.get(
    "/customers/{contract_id}/tokens", response_model=TokenHistory, tags=["customers"],
    summary="Every token a customer ever had", openapi_extra=scoped(ApiScope.VERIFY),
    responses=problems("not_found", body=False, serial=False),
)
def token_history(contract_id: ContractIdPath, client: Client,
                  request: Request) -> TokenHistory:
    view = integration.token_history(request.app.state.kinko.ctx, client, contract_id)
    current = view.current.id if view.current else None
    return TokenHistory(contract_id=view.customer.contract_id, tokens=[
        TokenHistoryItem(
            **_token_fields(h.token), current=h.token.id == current, how_bound=h.how_bound,
            events=[TokenEventOut(occurred_at=e.occurred_at, action=e.action,
                                  outcome=e.outcome, actor=e.actor, channel=e.channel,
                                  reason=e.reason) for e in h.events])
        for h in view.tokens])


FLOW_FAILURES = ("wrong_password", "password_locked", "rate_limited", "not_found", *CODE_FAILURES)


@api.post(
    "/customers/{contract_id}/enrollment", response_model=EnrollmentResult, status_code=201,
    tags=["customer flows"], summary="Enrollment: start using OTP with a new token",
    openapi_extra=scoped(ApiScope.MANAGE),
    responses=problems(*FLOW_FAILURES, "otp_already_in_use", "conflict"),
)
def enroll(contract_id: ContractIdPath, body: EnrollmentRequest, client: Client,
           request: Request) -> EnrollmentResult:
    """The guide's steps in order: login password, then the new token's serial and code,
    then the login-OTP choice and the confirmation password. Each step commits as on the
    web: a code checked before a wrong confirmation password stays spent."""
    token = integration.enroll(
        request.app.state.kinko.ctx, client, contract_id,
        login_password=_password(body.login_password), serial=body.serial,
        code=_code(body.otp), login_otp_required=body.login_otp_required,
        confirmation_password=_password(body.confirmation_password))
    return EnrollmentResult(contract_id=parse_contract_id(contract_id), serial=token.serial,
                            state=token.state, login_otp_required=body.login_otp_required)


@api.post(
    "/customers/{contract_id}/stop", response_model=StopResult, tags=["customer flows"],
    summary="Stop using OTP", openapi_extra=scoped(ApiScope.MANAGE),
    responses=problems(*FLOW_FAILURES, "otp_not_in_use", "conflict", serial=False),
)
def stop(contract_id: ContractIdPath, body: StopRequest, client: Client,
         request: Request) -> StopResult:
    serial = integration.stop(
        request.app.state.kinko.ctx, client, contract_id,
        login_password=_password(body.login_password), code=_code(body.otp),
        confirmation_password=_password(body.confirmation_password))
    return StopResult(contract_id=parse_contract_id(contract_id), serial=serial,
                      state=TokenState.REVOKED, transaction_method=Method.CONFIRMATION_PASSWORD)


@api.post(
    "/customers/{contract_id}/exchange", response_model=ExchangeResult,
    tags=["customer flows"], summary="Exchange: move to a new token (e.g. a new phone)",
    openapi_extra=scoped(ApiScope.MANAGE),
    responses=problems(*FLOW_FAILURES, "otp_not_in_use", "conflict"),
)
def exchange(contract_id: ContractIdPath, body: ExchangeRequest, client: Client,
             request: Request) -> ExchangeResult:
    """Login password, a code of the old token, then the new token's serial and code; the
    old token works until the new one is bound (one transaction)."""
    old_serial, token = integration.exchange_token(
        request.app.state.kinko.ctx, client, contract_id,
        login_password=_password(body.login_password), old_code=_code(body.old_otp),
        serial=body.serial, code=_code(body.otp))
    return ExchangeResult(contract_id=parse_contract_id(contract_id), old_serial=old_serial,
                          serial=token.serial, state=token.state)


def _token_result(token: Token) -> TokenActionResult:
    return TokenActionResult(serial=token.serial, state=token.state, failures=token.failures,
                             drift=token.drift)


STAFF_FAILURES = ("not_found", "invalid_transition", "conflict")


@api.post(
    "/tokens/{serial}/suspend", response_model=TokenActionResult, tags=["staff actions"],
    summary="Suspend a customer's token at once (e.g. phone reported lost)",
    openapi_extra=scoped(ApiScope.MANAGE), responses=problems(*STAFF_FAILURES),
)
def suspend(serial: SerialPath, body: StaffActionRequest, client: Client,
            request: Request) -> TokenActionResult:
    return _token_result(integration.suspend(request.app.state.kinko.ctx, client, serial,
                                             body.reason))


@api.post(
    "/tokens/{serial}/resume", response_model=TokenActionResult, tags=["staff actions"],
    summary="Resume a suspended token (e.g. the phone was found)",
    openapi_extra=scoped(ApiScope.MANAGE), responses=problems(*STAFF_FAILURES),
)
def resume(serial: SerialPath, body: StaffActionRequest, client: Client,
           request: Request) -> TokenActionResult:
    return _token_result(integration.resume(request.app.state.kinko.ctx, client, serial,
                                            body.reason))


@api.post(
    "/tokens/{serial}/unlock", response_model=TokenActionResult, tags=["staff actions"],
    summary="Unlock a token locked by wrong codes", openapi_extra=scoped(ApiScope.MANAGE),
    responses=problems(*STAFF_FAILURES),
)
def unlock(serial: SerialPath, body: StaffActionRequest, client: Client,
           request: Request) -> TokenActionResult:
    return _token_result(integration.unlock_token(request.app.state.kinko.ctx, client, serial,
                                                  body.reason))


@api.post(
    "/tokens/{serial}/resync", response_model=TokenActionResult, tags=["staff actions"],
    summary="Resynchronise a far-drifted token from two consecutive codes",
    openapi_extra=scoped(ApiScope.MANAGE),
    responses=problems(*STAFF_FAILURES, "wrong_code", "replayed_code"),
)
def resync(serial: SerialPath, body: ResyncRequest, client: Client,
           request: Request) -> TokenActionResult:
    return _token_result(integration.resync(
        request.app.state.kinko.ctx, client, serial, _code(body.first_otp),
        _code(body.second_otp), body.reason))


def _request_out(r: StaffRequest) -> RequestOut:
    return RequestOut(id=r.id, kind=r.kind, state=r.state, contract_id=r.contract_id,
                      serial=r.serial, password=r.password_kind, reason=r.reason,
                      requested_by=r.requested_by, requested_at=r.requested_at,
                      decided_by=r.decided_by, decided_at=r.decided_at)




@api.post(
    "/requests", response_model=RequestOut, status_code=202, tags=["staff actions"],
    summary="Ask for a revoke or a password unlock (four eyes)",
    openapi_extra=scoped(ApiScope.MANAGE),
    responses=problems("not_found", "invalid_transition", "conflict"),
)
def create_request(body: NewRequest, client: Client, request: Request) -> RequestOut:
    """Nothing happens until a supervisor approves the request in the staff console; poll
    ``GET /api/v1/requests/{id}`` for the decision. No API client can approve."""
    ctx = request.app.state.kinko.ctx
    if isinstance(body, RevokeRequestIn):
        created = integration.request_revoke(ctx, client, body.serial, body.reason)
    else:
        created = integration.request_password_unlock(ctx, client, body.contract_id,
                                                      body.password, body.reason)
    return _request_out(created)


@api.get(
    "/requests/{request_id}", response_model=RequestOut, tags=["staff actions"],
    summary="A four-eyes request and its decision", openapi_extra=scoped(ApiScope.MANAGE),
    responses=problems("not_found", body=False, serial=False),
)
def get_request(request_id: Annotated[int, Path(ge=1, le=PG_INTEGER_MAX)], client: Client,
                request: Request) -> RequestOut:
    return _request_out(integration.get_request(request.app.state.kinko.ctx, client,
                                                request_id))


def _utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC. A valid date-time whose UTC falls outside years 1 to 9999 (e.g.
    0001-01-01T00:00:00+01:00) is as early or as late as a filter can be: clamp it rather
    than refuse a time the document allows."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if value.year == 1 \
            else datetime.max.replace(tzinfo=UTC)


@api.get(
    "/audit", response_model=AuditPage, tags=["audit"],
    summary="Search the audit trail, newest first, page by page",
    openapi_extra=scoped(ApiScope.AUDIT), responses=problems(body=False),
)
def audit_trail(
    client: Client, request: Request,
    contract_id: Annotated[str | None, Query(
        min_length=1, max_length=32, json_schema_extra=CONTRACT_ID,
        description="The customer's contract ID, 10 digits." + LENIENT)] = None,
    serial: Annotated[str | None, Query(
        min_length=1, max_length=32, json_schema_extra=SERIAL,
        description="A token's 12-digit serial." + LUHN + LENIENT)] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=80, pattern=PRINTABLE,
                                       examples=["api:ib-core", "staff:suzuki"])] = None,
    action: Annotated[str | None, Query(
        min_length=1, max_length=64, pattern=r"^[a-z_]+(:[a-z_]+)*:?$",
        description="One action (token:suspended) or, ending in ':', a family (token:)",
    )] = None,
    since: Annotated[AwareDatetime | None, Query(description="Inclusive")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=PG_BIGINT_MAX,
                                           description="next_before_id of the last page")
                         ] = None,
) -> AuditPage:
    kinko = request.app.state.kinko
    contract = parse_contract_id(contract_id) if contract_id is not None else None
    wanted = parse_serial(serial) if serial is not None else None
    found = audit.search(
        kinko.audit_trail,
        AuditFilter(contract_id=contract, serial=wanted, actor=actor, action=action,
                    since=_utc(since), until=_utc(until)),
        limit=limit, before_id=before_id)
    integration.record_read(kinko.ctx, client, "audit", contract_id=contract, serial=wanted)
    return AuditPage(
        events=[AuditEventOut(id=e.id, seq=e.seq, occurred_at=e.occurred_at, action=e.action,
                              outcome=e.outcome, actor=e.actor, channel=e.channel,
                              contract_id=e.contract_id, serial=e.serial, reason=e.reason,
                              hash=e.hash) for e in found.events],
        next_before_id=found.next_before_id)


router.include_router(api)
router.include_router(docs.router)
