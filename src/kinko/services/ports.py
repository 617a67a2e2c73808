"""The small storage interfaces the services need; ``kinko.store`` implements them.

Every method that decides on replay or lockout is one atomic conditional update.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol

from kinko.domain.events import AuditEvent
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import (
    ApiClient,
    ApiScope,
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
from kinko.domain.throttle import WindowCounts


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


@dataclass(frozen=True, repr=False)
class KnownToken:
    """What this process last read of a token: enough to check a code without reading it
    again. Only a hint: a spend based on it re-checks every fact in its one statement."""

    id: int
    serial: str
    params: TotpParameters
    seed: Seed
    #: The sealed form the seed was opened from; a reseal (key rotation) changes it.
    key_id: str
    nonce: bytes
    drift: int

    def __repr__(self) -> str:
        return f"KnownToken(id={self.id}, serial={self.serial!r})"


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

    def for_check(self, token_id: int) -> tuple[Token, KnownToken] | None:
        """The token and its opened seed in one read (the seed comes from a per-process
        cache while its sealed form is unchanged); remembers them for ``known``."""
        ...

    def known(self, token_id: int) -> KnownToken | None:
        """What this process remembers of the token, without touching the database."""
        ...

    def active_of(self, *, contract_id: str | None = None,
                  serial: str | None = None) -> tuple[KnownToken, str] | None:
        """The active token of the customer with ``contract_id``, or the active customer
        token with ``serial``, and that customer's contract ID: one plain read, no lock
        (a ``spend`` re-checks what it relies on), remembered for ``known``. None for
        anything else (no such customer or token, another state): ask the full way."""
        ...

    def spend(
        self, token: KnownToken, *, step: int, current_step: int, window: int,
        states: Collection[TokenState], now: datetime, event: AuditEvent, alone: bool = False,
    ) -> bool:
        """``spend_step`` plus every fact a code check rests on, in one conditional statement
        that also records ``event``: the token is in ``states`` (an unbound one not expired),
        its seed is still sealed as in ``token``, ``step`` is above the last accepted step
        and within ``window`` of ``current_step`` plus the stored drift. True if spent (and
        recorded); False changes nothing. ``alone``: the unit of work does nothing else
        (this is its first statement, or follows only ``active_of``, and it commits or ends
        right after), so the statement may commit by itself."""
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


class PasswordCounter(Protocol):
    """The failure count and lock of one password, as ``services.credentials.weigh`` uses
    them; each method is one atomic statement, and none acts on a locked password."""

    def claim(self, *, limit: int) -> bool:
        """Count an attempt as a failure before it is checked, if fewer than ``limit`` are
        counted (failed, or still being checked); False when it may not be made."""
        ...

    def settle_failure(self, *, limit: int, now: datetime) -> bool:
        """The claimed attempt was wrong: lock if ``limit`` are counted; True if this locked it."""
        ...

    def settle_success(self) -> bool:
        """The claimed attempt was right: clear the count; False (nothing changed) if locked."""
        ...


class CustomerRepository(Protocol):
    def add(self, new: NewCustomer) -> Customer: ...

    def get(self, customer_id: int) -> Customer | None: ...

    def by_contract_id(self, contract_id: str) -> Customer | None: ...

    def password_counter(self, customer_id: int, kind: PasswordKind) -> PasswordCounter:
        """The failure count and lock of one of the customer's passwords."""
        ...

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
    def hit(self, key: str, *, window_start: datetime, window: timedelta) -> WindowCounts:
        """Count one attempt for ``key`` in the fixed window of length ``window`` starting at
        ``window_start``; return that window's count so far and the previous window's. Atomic."""
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

    def password_counter(self, staff_id: int) -> PasswordCounter:
        """The failure count and lock of the staff member's console password."""
        ...

    def unlock_password(self, staff_id: int) -> None:
        """Clear the count and the lock."""
        ...


class RequestRepository(Protocol):
    def add(self, *, kind: RequestKind, contract_id: str, serial: str | None,
            password_kind: PasswordKind | None, reason: str, requested_by: int | None,
            now: datetime, requested_by_client: int | None = None) -> StaffRequest:
        """A pending request by a staff member (``requested_by``) or, for a bank system, an
        API client (``requested_by_client``): exactly one of the two."""
        ...

    def get(self, request_id: int) -> StaffRequest | None: ...

    def pending(self) -> Sequence[StaffRequest]: ...

    def pending_for(self, kind: RequestKind, contract_id: str, serial: str | None,
                    password_kind: PasswordKind | None) -> bool: ...

    def decide(self, request_id: int, *, state: RequestState, decided_by: int,
               now: datetime) -> bool:
        """Decide a pending request not made by ``decided_by``; False if it was not pending
        (decided by someone else first) or is the decider's own. One conditional UPDATE."""
        ...


class ApiClientRepository(Protocol):
    def add(self, *, name: str, scopes: frozenset[ApiScope], secret_hash: str,
            now: datetime) -> ApiClient:
        """A new client; ``Conflict`` if the name was ever used."""
        ...

    def get(self, client_id: int) -> ApiClient | None: ...

    def by_name(self, name: str) -> ApiClient | None: ...

    def listing(self) -> Sequence[ApiClient]: ...

    def set_secret(self, client_id: int, *, secret_hash: str, now: datetime) -> bool:
        """Replace the secret of a client that is not revoked; False if it is."""
        ...

    def revoke(self, client_id: int, *, now: datetime) -> bool:
        """False if it was already revoked."""
        ...

    def touch(self, client_id: int, *, now: datetime) -> None:
        """Record that the client was just used."""
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

    @property
    def api_clients(self) -> ApiClientRepository: ...

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
