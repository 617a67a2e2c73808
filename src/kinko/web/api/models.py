"""The API's request and response models (pydantic), from which the OpenAPI document is made.

Requests are closed (``extra="forbid"``); secrets (passwords, codes) are ``SecretStr``, so
they never reach a ``repr`` or an error. The handlers in ``v1`` turn them into domain values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Discriminator, Field, SecretStr, StrictBool, Tag

from kinko.domain.events import Action, Channel, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import PasswordKind, RequestKind, RequestState, TokenOrigin
from kinko.services.integration import Purpose
from kinko.services.transactions import Method

PG_INTEGER_MAX = 2**31 - 1
PG_BIGINT_MAX = 2**63 - 1
#: Free text (reasons, actor filters): no control characters (C0, DEL, C1), which
#: PostgreSQL's text refuses (NUL) and which have no business in an audit trail.
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]+$"
#: A reason as the services take it: printable, and not only white space (they strip it).
#: The white space listed is what ``str.strip`` removes, less the controls already refused.
_BLANK = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
REASON = rf"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f{_BLANK}][^\x00-\x1f\x7f-\x9f]*$"


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
UNION_TAGS = frozenset({"by_contract_id", "by_serial"})


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


#: ``POST /requests``: a revoke or a password unlock, told apart by ``kind``.
NewRequest = Annotated[RevokeRequestIn | PasswordUnlockRequestIn, Field(discriminator="kind")]
