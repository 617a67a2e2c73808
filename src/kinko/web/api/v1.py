"""/api/v1 for the bank's systems: verify codes, read OTP status, the customer flows for a
front end that is not kinko's own, call-centre staff actions, and the audit trail.

Thin as the other adapters: the route class checks the client's bearer secret and scope
before anything else, each handler parses its pydantic model and calls one service of
``kinko.services.integration``, and every failure leaves as an RFC 9457 problem.
``POST /verify`` is answered by a plain ASGI handler (``verify_endpoint``) before FastAPI
sees the request; its route here documents it and shares ``check_code`` with it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    StrictBool,
    Tag,
)
from starlette.exceptions import HTTPException

from kinko.domain.errors import InvalidInput, KinkoError
from kinko.domain.events import Action, Channel, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import (
    ApiClient,
    ApiScope,
    PasswordKind,
    PasswordState,
    RequestKind,
    RequestState,
    StaffRequest,
    Token,
    TokenOrigin,
)
from kinko.domain.secrets import Code, Password
from kinko.domain.serials import normalize_digits, parse_contract_id, parse_serial
from kinko.services import api_clients, audit, integration
from kinko.services.audit import AuditFilter
from kinko.services.context import Context
from kinko.services.integration import Purpose
from kinko.services.transactions import Method
from kinko.web.api import bodies, docs
from kinko.web.api.problems import from_error, problem

#: The largest request body the API reads (the biggest one, 利用開始, is far below it).
MAX_BODY = 16 * 1024
#: The OpenAPI extension naming the scope an operation needs; the route class reads it.
SCOPE_KEY = docs.SCOPE_KEY
PG_INTEGER_MAX = 2**31 - 1
PG_BIGINT_MAX = 2**63 - 1
#: Free text (reasons, actor filters): no control characters (C0, DEL, C1), which
#: PostgreSQL's text refuses (NUL) and which have no business in an audit trail.
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]+$"
#: A reason as the services take it: printable, and not only white space (they strip it).
#: The white space listed is what ``str.strip`` removes, less the controls already refused.
_BLANK = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
REASON = rf"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f{_BLANK}][^\x00-\x1f\x7f-\x9f]*$"

WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="kinko"'}


# --- authentication and errors -----------------------------------------------------------

class ApiRoute(APIRoute):
    """Checks the bearer secret and the operation's scope first (so a caller without them
    learns nothing, not even about the body), then turns every error into a problem."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        extra = self.openapi_extra or {}
        scope = ApiScope(extra[SCOPE_KEY]) if SCOPE_KEY in extra else None

        takes_body = self.body_field is not None

        async def route(request: Request) -> Response:
            try:
                if scope is not None:
                    authenticator: api_clients.Authenticator = request.app.state.authenticator
                    header = request.headers.get("authorization")
                    request.state.api_client = (
                        authenticator.cached(header, scope)
                        or await run_in_threadpool(authenticator.authenticate, header, scope))
                if takes_body:
                    refused = await _read_body(request)
                    if refused is not None:
                        return refused
                return await handler(request)
            except RequestValidationError as error:
                return invalid_request(error)
            except KinkoError as error:
                return refusal(error)
            except HTTPException as error:
                if error.status_code == 400:  # FastAPI could not decode the body at all
                    return problem(400, "invalid_json", "the body is not valid JSON")
                raise

        return route


async def _read_body(request: Request) -> Response | None:
    """Read the JSON body (``bodies.read_json``: size, media type, UTF-8, no duplicate
    names), or the problem that refuses it."""
    try:
        await bodies.read_json(request, MAX_BODY)
    except bodies.BodyRefused as refused:
        return problem(refused.status, refused.code, refused.detail)
    return None


def refusal(error: KinkoError) -> JSONResponse:
    """The problem for a domain error; a 401 (the client's secret, or a wrong code or
    password) says how to authenticate."""
    response = from_error(error)
    if response.status_code == 401:
        response.headers.update(WWW_AUTHENTICATE)
    return response


def invalid_request(error: RequestValidationError) -> Response:
    """422 with the fields at fault (never their values: they may be passwords or codes)."""
    return invalid_fields(error.errors())


def invalid_fields(errors: Iterable[Mapping[str, Any]]) -> JSONResponse:
    """``invalid_request``'s answer for pydantic's errors, located as FastAPI locates them
    (``("body", "otp")``)."""
    errors = list(errors)
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "invalid_json", "the body is not valid JSON")
    fields = [{"field": ".".join(str(part) for part in e.get("loc", ())
                                 if part not in _UNION_TAGS),
               "message": str(e.get("msg", "not valid"))} for e in errors]
    return problem(422, "invalid_request", "the request is not valid", errors=fields)


async def current_client(request: Request) -> ApiClient:
    """The client ``ApiRoute`` authenticated for this request."""
    client: ApiClient = request.state.api_client
    return client


Client = Annotated[ApiClient, Depends(current_client)]


def _code(value: SecretStr) -> Code:
    """An OTP as a bank system sends it: 6 to 8 digits after NFKC (full-width digits,
    spaces and hyphens allowed). Anything else is refused without touching a counter."""
    digits = normalize_digits(value.get_secret_value())
    if not (6 <= len(digits) <= 8 and digits.isascii() and digits.isdigit()):
        raise InvalidInput("otp must be 6 digits")
    return Code(digits)


def _password(value: SecretStr) -> Password:
    return Password(value.get_secret_value())


# --- models ------------------------------------------------------------------------------

class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Contract IDs, serials and OTPs are documented in their canonical form (the patterns): what
# a client should send, and what the server always takes. The server also takes them as
# customers type them (full-width digits, spaces, hyphens: NFKC, as on the web screens),
# wherever they appear: body, path or query. A serial's Luhn check digit is the one rule a
# pattern cannot say: its description says it, and the operations' 422 lists it.
LENIENT = (" The server also accepts the digits as customers type them: full-width "
           "(０-９), with spaces or hyphens (NFKC, then separators dropped).")
LUHN = (" The last digit is a Luhn (mod 10) check digit, which no pattern can say: a "
        "serial whose check digit is wrong is refused with 422 `invalid_input` (a typo, "
        "as the bank's own screens tell it), never looked up.")
CONTRACT_ID = {"pattern": "^[0-9]{10}$"}
SERIAL = {"pattern": "^[0-9]{12}$"}
ContractIdText = Annotated[str, Field(
    min_length=1, max_length=32, examples=["1000000001"], json_schema_extra=CONTRACT_ID,
    description="The customer's contract ID: 10 digits." + LENIENT)]
SerialText = Annotated[str, Field(
    min_length=1, max_length=32, examples=["123456789015"], json_schema_extra=SERIAL,
    description="The token's serial: 12 digits." + LUHN + LENIENT)]
OtpText = Annotated[SecretStr, Field(
    min_length=1, max_length=32, json_schema_extra={"pattern": "^[0-9]{6,8}$"},
    description="The one-time password the token shows now: 6 digits (up to 8 for a "
                "token with longer codes)." + LENIENT)]
PasswordText = Annotated[SecretStr, Field(min_length=1, max_length=128)]
ReasonText = Annotated[str, Field(
    min_length=1, max_length=200, pattern=REASON,
    description="Why, as the bank records it (e.g. a lost phone); shown in the audit trail. "
                "1 to 200 characters, no control characters, not only white space.")]
ContractIdPath = Annotated[str, Path(min_length=1, max_length=32, examples=["1000000001"],
                                     json_schema_extra=CONTRACT_ID,
                                     description="The customer's contract ID, 10 digits."
                                                 + LENIENT)]
SerialPath = Annotated[str, Path(min_length=1, max_length=32, examples=["123456789015"],
                                 json_schema_extra=SERIAL,
                                 description="The token's 12-digit serial." + LUHN + LENIENT)]


class _Verify(Body):
    otp: OtpText
    purpose: Purpose


class VerifyByContractId(_Verify):
    """Check a code of the token bound to this contract."""

    contract_id: ContractIdText


class VerifyBySerial(_Verify):
    """Check a code of the customer's token with this serial."""

    serial: SerialText


def _verify_target(value: Any) -> str:
    # Which variant to validate against: a body that names a serial is checked as one, so
    # a body with both names is refused for its extra member, one with neither for the
    # missing contract_id; both read plainly. The document says the same with ``oneOf``.
    return "by_serial" if isinstance(value, dict) and "serial" in value else "by_contract_id"


#: Exactly one of ``contract_id`` or ``serial``: two closed shapes, ``oneOf`` in the
#: document, which generated clients turn into two request types. The fast handler
#: validates bodies against this very type (``verify_endpoint``), so the document and the
#: server cannot drift apart.
VerifyRequest = Annotated[
    Annotated[VerifyByContractId, Tag("by_contract_id")]
    | Annotated[VerifyBySerial, Tag("by_serial")],
    Discriminator(_verify_target)]
#: The union's tags, which pydantic puts in an error's location; the fields are enough.
_UNION_TAGS = frozenset({"by_contract_id", "by_serial"})


class VerifyResult(Out):
    result: Literal["accepted"]
    contract_id: str
    serial: str
    drift: int = Field(description="The token's clock drift in 30-second steps, as learned")
    purpose: Purpose


class PasswordStatus(Out):
    failures: int
    locked: bool
    locked_at: datetime | None


class TokenStatus(Out):
    serial: str
    state: TokenState
    failures: int = Field(description="Consecutive wrong codes (5 lock the token)")
    drift: int
    origin: TokenOrigin
    created_at: datetime
    bound_at: datetime | None
    state_changed_at: datetime
    last_used_at: datetime | None


class CustomerStatus(Out):
    contract_id: str
    otp_in_use: bool = Field(description="A token is bound (active, locked or suspended)")
    login_otp_required: bool
    transaction_method: Method = Field(
        description="What a transfer needs now: the OTP, or the confirmation password")
    token: TokenStatus | None
    login_password: PasswordStatus
    confirmation_password: PasswordStatus


class TokenEventOut(Out):
    occurred_at: datetime
    action: Action
    outcome: Outcome
    actor: str
    channel: Channel
    reason: str | None


class TokenHistoryItem(TokenStatus):
    current: bool = Field(description="This is the contract's bound token now")
    how_bound: str | None = Field(description="enroll or exchange")
    events: list[TokenEventOut] = Field(description="Its lifecycle events, oldest first")


class TokenHistory(Out):
    contract_id: str
    tokens: list[TokenHistoryItem] = Field(description="Every token of the contract, newest first")


class EnrollmentRequest(Body):
    login_password: PasswordText
    serial: SerialText
    otp: OtpText
    login_otp_required: StrictBool
    confirmation_password: PasswordText


class EnrollmentResult(Out):
    contract_id: str
    serial: str
    state: TokenState
    login_otp_required: bool


class StopRequest(Body):
    login_password: PasswordText
    otp: OtpText
    confirmation_password: PasswordText


class StopResult(Out):
    contract_id: str
    serial: str = Field(description="The token that was stopped")
    state: TokenState
    transaction_method: Method


class ExchangeRequest(Body):
    login_password: PasswordText
    old_otp: OtpText = Field(description="A code of the token in use now." + LENIENT)
    serial: SerialText = Field(description="The new token's serial: 12 digits." + LUHN
                               + LENIENT)
    otp: OtpText = Field(description="A code of the new token." + LENIENT)


class ExchangeResult(Out):
    contract_id: str
    old_serial: str
    serial: str
    state: TokenState


class StaffActionRequest(Body):
    reason: ReasonText


class ResyncRequest(Body):
    reason: ReasonText
    first_otp: OtpText
    second_otp: OtpText = Field(
        description="The code the token shows right after the first." + LENIENT)


class TokenActionResult(Out):
    serial: str
    state: TokenState
    failures: int
    drift: int


class RevokeRequestIn(Body):
    kind: Literal["revoke"]
    serial: SerialText
    reason: ReasonText


class PasswordUnlockRequestIn(Body):
    kind: Literal["unlock_password"]
    contract_id: ContractIdText
    password: PasswordKind
    reason: ReasonText


class RequestOut(Out):
    id: int
    kind: RequestKind
    state: RequestState
    contract_id: str
    serial: str | None
    password: PasswordKind | None
    reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class AuditEventOut(Out):
    id: int
    seq: int | None = Field(description="Its place in the SHA-256 chain; null until sealed")
    occurred_at: datetime
    action: Action
    outcome: Outcome
    actor: str
    channel: Channel
    contract_id: str | None
    serial: str | None
    reason: str | None
    hash: str | None


class AuditPage(Out):
    events: list[AuditEventOut] = Field(description="Newest first")
    next_before_id: int | None = Field(
        description="Pass as before_id for the next page; null on the last page")


# --- documentation helpers ---------------------------------------------------------------

#: Problem codes the route layer itself answers with, besides HTTP_STATUS's.
OWN_CODES = {"invalid_request": 422, **bodies.CODES}
ALWAYS = ("unauthorized", "forbidden", "invalid_request", "invalid_input")


def _status_of(code: str) -> int:
    from kinko.web.errors import HTTP_STATUS

    return OWN_CODES.get(code) or HTTP_STATUS[code]


#: What a status means beyond its codes, where a client needs telling.
_NOTES = {
    400: "The body is not JSON as RFC 8259 exchanges it: not UTF-8, a byte order mark, "
         "not JSON at all (`invalid_json`); or one object names a member twice "
         "(`duplicate_key`).",
    422: "`invalid_request`: the request does not match this document (the fields are "
         "listed). `invalid_input`: a value in a form the server normalises (full-width "
         "digits, separators) that is still not a contract ID, serial or OTP.",
}
_LUHN_NOTE = (" A request that matches this document gets `invalid_input` only for a "
              "serial whose Luhn check digit is wrong.")


def problems(*codes: str, body: bool = True,
             serial: bool = True) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of an operation: each status with its problem codes
    (``body``: the operation reads a JSON body; ``serial``: it takes a serial)."""
    own = tuple(bodies.CODES) if body else ()
    every = (*ALWAYS, *own, *codes)
    by_status: dict[int, list[str]] = {}
    for code in every:
        by_status.setdefault(_status_of(code), [])
        if code not in by_status[_status_of(code)]:
            by_status[_status_of(code)].append(code)
    documented: dict[int | str, dict[str, Any]] = {}
    for status, names in sorted(by_status.items()):
        text = "Problem: " + ", ".join(f"`{c}`" for c in sorted(names)) + "."
        if status in _NOTES:
            text += " " + _NOTES[status]
        if status == 422 and serial:
            text += _LUHN_NOTE
        documented[status] = {"description": text}
    return documented


def scoped(scope: ApiScope) -> dict[str, Any]:
    return {SCOPE_KEY: scope.value}


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


NewRequest = Annotated[RevokeRequestIn | PasswordUnlockRequestIn, Field(discriminator="kind")]


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
