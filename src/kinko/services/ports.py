"""The small storage interfaces the services need; ``kinko.store`` implements them.

Every method that decides on replay or lockout is one atomic conditional update.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol

from kinko.domain.events import AuditEvent
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import (
    Customer,
    PasswordKind,
    RequestKind,
    RequestState,
    StaffMember,
    StaffRequest,
    StaffRole,
    Token,
    TokenOrigin,
)
from kinko.domain.notices import Notice, NoticeStatus, QueuedNotice
from kinko.domain.otp import TotpParameters
from kinko.domain.secrets import Password, Seed


@dataclass(frozen=True)
class NewToken:
    serial: str
    params: TotpParameters
    origin: TokenOrigin
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class NewCustomer:
    contract_id: str
    name: str
    email: str | None
    login_password_hash: str
    confirmation_password_hash: str
    created_at: datetime


class TokenRepository(Protocol):
    def add(self, new: NewToken, seed: Seed) -> Token: ...

    def get(self, token_id: int) -> Token | None: ...

    def by_serial(self, serial: str) -> Token | None: ...

    def serial_exists(self, serial: str) -> bool: ...

    def bound_to(self, customer_id: int) -> Token | None:
        """The customer's token in a bound state (active, locked or suspended), if any."""
        ...

    def of_customer(self, customer_id: int) -> Sequence[Token]:
        """Every token the customer ever had, oldest first."""
        ...

    def seed(self, token: Token) -> Seed: ...

    def spend_step(
        self, token_id: int, *, step: int, drift: int, states: Collection[TokenState], now: datetime
    ) -> bool:
        """Accept ``step`` if the token is in ``states`` and ``step`` is above its last
        accepted step: store step and drift, reset failures. False if another request
        got there first or the state changed. One conditional UPDATE."""
        ...

    def record_failure(
        self, token_id: int, *, state: TokenState, limit: int, limit_state: TokenState,
        now: datetime,
    ) -> tuple[int, TokenState] | None:
        """Count one wrong code if the token is still in ``state``; at ``limit`` move it to
        ``limit_state``. Returns the new count and state, or None if the state changed."""
        ...

    def change_state(
        self, token_id: int, *, from_states: Collection[TokenState], to_state: TokenState,
        now: datetime, customer_id: int | None = None, staff_id: int | None = None,
        reset_failures: bool = False,
    ) -> bool:
        """Move the token if it is still in one of ``from_states``; optionally bind it to
        ``customer_id`` (or a staff member). False if it was not (somebody else changed it
        first)."""
        ...

    def set_sync(self, token_id: int, *, last_step: int, drift: int, now: datetime) -> bool:
        """Staff resync: store the new drift and step and clear failures (only forward)."""
        ...

    def unbound_expired(self, now: datetime) -> Sequence[Token]: ...


class CustomerRepository(Protocol):
    def add(self, new: NewCustomer) -> Customer: ...

    def get(self, customer_id: int) -> Customer | None: ...

    def by_contract_id(self, contract_id: str) -> Customer | None: ...

    def record_password_failure(
        self, customer_id: int, kind: PasswordKind, *, limit: int, now: datetime
    ) -> tuple[int, bool]:
        """Count one wrong password atomically; returns the new count and whether it is
        now locked."""
        ...

    def reset_password_failures(self, customer_id: int, kind: PasswordKind) -> None: ...

    def unlock_password(self, customer_id: int, kind: PasswordKind) -> bool:
        """Clear the lock and the count; False if it was not locked."""
        ...

    def set_password_hash(self, customer_id: int, kind: PasswordKind, new_hash: str) -> None: ...

    def set_login_otp_required(self, customer_id: int, required: bool) -> None: ...


class AuditLog(Protocol):
    def record(self, event: AuditEvent) -> None: ...

    def recent(
        self, *, limit: int = 50, contract_id: str | None = None, serial: str | None = None
    ) -> Sequence[AuditEvent]: ...


class RateLimits(Protocol):
    def hit(self, key: str, *, window_start: datetime) -> int:
        """Count one attempt for ``key`` in the window starting at ``window_start`` and
        return the count so far in that window (a new window starts again at 1). Atomic."""
        ...


class Outbox(Protocol):
    """Customer notices waiting for e-mail delivery, written in the transaction of their change.

    A claim is a lease: the claimed notice is due again at ``lease_until`` unless its
    worker reports first, so a worker that dies never loses a notice (at-least-once).
    """

    def enqueue(self, notice: Notice, *, recipient: str, recipient_name: str) -> None: ...

    def claim_due(self, *, now: datetime, lease_until: datetime) -> QueuedNotice | None:
        """Take the oldest pending notice due at ``now`` for delivery until ``lease_until``
        and count the attempt; None if none is due. Concurrent claimers never get the same
        notice while its lease runs (PostgreSQL: SKIP LOCKED; SQLite: one writer)."""
        ...

    def mark_sent(self, notice_id: int, *, now: datetime) -> bool:
        """The mail server accepted it. False if it was no longer pending."""
        ...

    def mark_retry(
        self, notice_id: int, *, lease: str, next_attempt_at: datetime, error: str
    ) -> bool:
        """The attempt failed; try again at ``next_attempt_at``. False if ``lease`` is no
        longer the notice's claim (it expired and another worker took the notice)."""
        ...

    def mark_failed(self, notice_id: int, *, lease: str, now: datetime, error: str) -> bool:
        """Give up on the notice (for staff to see). False if ``lease`` is not its claim."""
        ...

    def listing(
        self, *, status: NoticeStatus | None = None, contract_id: str | None = None,
        limit: int = 50,
    ) -> Sequence[QueuedNotice]:
        """Notices, newest first, e.g. the failed ones for the staff console."""
        ...


class StaffRepository(Protocol):
    def add(self, *, name: str, display_name: str, role: StaffRole, password_hash: str,
            now: datetime) -> StaffMember: ...

    def get(self, staff_id: int) -> StaffMember | None: ...

    def by_name(self, name: str) -> StaffMember | None: ...

    def record_password_failure(self, staff_id: int, *, limit: int,
                                now: datetime) -> tuple[int, bool]: ...

    def reset_password_failures(self, staff_id: int) -> None: ...


class RequestRepository(Protocol):
    def add(self, *, kind: RequestKind, contract_id: str, serial: str | None,
            password_kind: PasswordKind | None, reason: str, requested_by: int,
            now: datetime) -> StaffRequest: ...

    def get(self, request_id: int) -> StaffRequest | None: ...

    def pending(self) -> Sequence[StaffRequest]: ...

    def pending_for(self, kind: RequestKind, contract_id: str, serial: str | None,
                    password_kind: PasswordKind | None) -> bool: ...

    def decide(self, request_id: int, *, state: RequestState, decided_by: int,
               now: datetime) -> bool:
        """Decide a pending request not made by ``decided_by``; False if it was not pending
        (decided by someone else first) or is the decider's own. One conditional UPDATE."""
        ...


class UnitOfWork(Protocol):
    """One database transaction: rolled back on exit unless ``commit()`` was called."""

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def rate_limits(self) -> RateLimits: ...

    @property
    def staff(self) -> StaffRepository: ...

    @property
    def requests(self) -> RequestRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class PasswordHasher(Protocol):
    def hash(self, password: Password) -> str: ...

    def verify(self, stored_hash: str, password: Password) -> bool:
        """True if it matches; never raises for a mismatch."""
        ...

    def needs_rehash(self, stored_hash: str) -> bool: ...

    def dummy_verify(self, password: Password) -> None:
        """Spend the time of one verification, so unknown IDs take as long as known ones."""
        ...
