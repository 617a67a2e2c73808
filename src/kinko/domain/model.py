"""The customer and token as the services see them: plain data, no ORM.

Repositories turn rows into these and back; rules that need the clock take ``now``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from kinko.domain.lifecycle import BOUND_STATES, TokenState
from kinko.domain.otp import TotpParameters


class TokenOrigin(enum.StrEnum):
    """How a token came to exist; demo tokens alone may have codes shown by the CLI."""

    ISSUED = "issued"            # `kinko token issue` (development, operations)
    DEMO = "demo"                # `kinko demo`
    ACTIVATION = "activation"    # the token app's X25519 activation
    THIRD_PARTY = "third_party"  # an otpauth:// QR for another authenticator app
    STAFF = "staff"              # a bank staff member's own sign-in token


@dataclass(frozen=True)
class Token:
    id: int
    serial: str
    state: TokenState
    customer_id: int | None
    params: TotpParameters
    origin: TokenOrigin
    last_step: int | None
    drift: int
    failures: int
    created_at: datetime
    expires_at: datetime | None
    bound_at: datetime | None
    state_changed_at: datetime
    last_used_at: datetime | None
    #: Set for a staff member's own sign-in token (then ``customer_id`` is None).
    staff_id: int | None = None
    #: Changes with every change of the stored token; a code check's outcome is written
    #: only to the version it was decided on.
    version: int = 0

    @property
    def is_bound(self) -> bool:
        return self.state in BOUND_STATES

    def is_expired(self, now: datetime) -> bool:
        """An unbound token past its binding period can no longer be registered."""
        return (
            self.state is TokenState.UNBOUND
            and self.expires_at is not None
            and now >= self.expires_at
        )


class PasswordKind(enum.StrEnum):
    LOGIN = "login"                 # ログインパスワード
    CONFIRMATION = "confirmation"   # 確認用パスワード / 資金移動用パスワード


@dataclass(frozen=True)
class PasswordState:
    hash: str
    failures: int
    locked_at: datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


@dataclass(frozen=True)
class Customer:
    id: int
    contract_id: str
    name: str
    email: str | None
    login_password: PasswordState
    confirmation_password: PasswordState
    login_otp_required: bool
    created_at: datetime

    def password(self, kind: PasswordKind) -> PasswordState:
        return self.login_password if kind is PasswordKind.LOGIN else self.confirmation_password


class StaffRole(enum.StrEnum):
    OPERATOR = "operator"      # suspend, resume, unlock the OTP; request revoke/unlock
    SUPERVISOR = "supervisor"  # also resync, and approve others' requests

    @property
    def label(self) -> str:
        return "オペレーター" if self is StaffRole.OPERATOR else "責任者"


@dataclass(frozen=True)
class StaffMember:
    id: int
    name: str
    display_name: str
    role: StaffRole
    password: PasswordState
    token_id: int | None
    active: bool
    created_at: datetime


class RequestKind(enum.StrEnum):
    """Actions that need a second person: requested by one, approved by a supervisor."""

    REVOKE = "revoke"
    UNLOCK_PASSWORD = "unlock_password"


class RequestState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class StaffRequest:
    id: int
    kind: RequestKind
    contract_id: str
    serial: str | None
    password_kind: PasswordKind | None
    reason: str
    requested_by: str
    requested_at: datetime
    state: RequestState
    decided_by: str | None
    decided_at: datetime | None


class ApiScope(enum.StrEnum):
    """What a bank system's API client may do (``kinko api-client add --scope``)."""

    VERIFY = "verify"  # check codes, read a customer's OTP status and token history
    MANAGE = "manage"  # 利用開始 / 利用中止 / 交換 for a front end, staff actions, requests
    AUDIT = "audit"    # read the audit trail


@dataclass(frozen=True)
class ApiClient:
    """A bank system allowed to call the JSON API; only a hash of its secret is kept."""

    id: int
    name: str
    scopes: frozenset[ApiScope]
    secret_hash: str
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
