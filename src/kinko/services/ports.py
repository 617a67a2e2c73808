"""The small storage interfaces the services need; ``kinko.store`` implements them.

Every method that decides on replay or lockout is one atomic conditional update.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol

from kinko.banking.accounts import Account, AccountType, Entry, NewAccount, NewEntry
from kinko.banking.drafts import Order, Payee, Receipt
from kinko.banking.payees import SavedPayee
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
from kinko.domain.verification import Decision


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


@dataclass(frozen=True)
class TokenRef:
    """Which token a code is for: by id, the bound token (active, locked or suspended) of a
    contract ID, or a customer's token by its serial (never a staff or unbound token)."""

    token_id: int | None = None
    contract_id: str | None = None
    serial: str | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.token_id, self.contract_id, self.serial) if v is not None]
        if len(given) != 1:
            raise ValueError("a TokenRef names exactly one of token_id, contract_id, serial")


@dataclass(frozen=True, repr=False)
class Verifiable:
    """A token as read for a code check (its state and version), its opened seed, and its
    customer's contract ID (None for a token bound to nobody or to a staff member)."""

    token: Token
    seed: Seed
    contract_id: str | None

    def __repr__(self) -> str:
        return f"Verifiable(token={self.token.id}, serial={self.token.serial!r})"


@dataclass(frozen=True)
class ListedToken:
    """A token as an operator's list shows it: with its customer's contract ID (None for a
    token bound to nobody or to a staff member)."""

    token: Token
    contract_id: str | None


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

    def for_verification(self, ref: TokenRef) -> Verifiable | None:
        """The token ``ref`` names, its seed opened, in one read (no lock: ``settle``
        compares the version); a contract ID finds its bound token."""
        ...

    def settle(self, token: Token, decision: Decision, *, now: datetime,
               event: AuditEvent) -> bool:
        """Apply ``decision`` to exactly the version of ``token`` it was made on and record
        ``event`` with it, atomically (one statement where the database allows); False,
        with nothing written, if the token changed since it was read. A decision that
        changes nothing (a replay, a state refusal) records ``event`` alone."""
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

    def listing(self, *, origin: TokenOrigin | None = None,
                limit: int = 100) -> Sequence[ListedToken]:
        """The first ``limit`` tokens in the order they were made, only those of ``origin``
        if given."""
        ...


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
        self, *, limit: int = 50, contract_id: str | None = None, serial: str | None = None,
        action: str | None = None,
    ) -> Sequence[AuditEvent]: ...


# --- the audit trail: read, sealed into a chain, verified (``services.audit``) --------------


@dataclass(frozen=True, kw_only=True)
class StoredAuditEvent(AuditEvent):
    """An audit event as stored: its id, its place in the chain (None until sealed) and the
    writer's MAC (see ``kinko.store.audit_chain``)."""

    id: int
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None
    mac_key_id: str | None = None
    mac_nonce: str | None = None
    mac: str | None = None


@dataclass(frozen=True)
class AuditFilter:
    """Which events to read; every given filter must match. ``action`` is one action
    (``token:suspended``) or, ending in ``:``, a family (``token:``); ``since`` is inclusive
    and ``until`` exclusive (aware datetimes)."""

    contract_id: str | None = None
    serial: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of a search, newest first; ``next_before_id`` is where the next (older) page
    starts, None on the last page."""

    events: Sequence[StoredAuditEvent]
    next_before_id: int | None


@dataclass(frozen=True, kw_only=True)
class ChainReport:
    """What a check of the chain found; ``problems`` are one line each, naming the event.
    Unsealed events are no problem (not in the chain yet) unless the sealer refuses them."""

    ok: bool
    sealed: int
    unsealed: int
    problems: Sequence[str]
    #: Where the chain ended when the check started: worth writing down outside the database.
    head_seq: int
    head_hash: str
    #: Sealed events written before MACs existed: the chain alone covers them.
    legacy: int
    #: Sealed events whose MAC key was pruned since: the chain alone covers them now.
    mac_unchecked: int


class AuditChainError(RuntimeError):
    """The stored chain is damaged so that it cannot be extended; nothing was sealed.
    ``AuditTrail.verify`` names the damage."""


class AuditTrail(Protocol):
    """The stored trail as its use cases see it. Each call is its own short read or
    transaction, never part of a unit of work (seal after a unit of work commits)."""

    def search(self, filters: AuditFilter, *, limit: int,
               before_id: int | None = None) -> AuditPage:
        """The newest ``limit`` events matching ``filters`` with an id below ``before_id``."""
        ...

    def scan(self, filters: AuditFilter, *, batch: int = 1000) -> Iterator[StoredAuditEvent]:
        """Every matching event, oldest first, read ``batch`` at a time; no connection is
        held between batches, so a slow reader blocks nobody."""
        ...

    def seal_pending(self, *, limit: int = 1000, wait: bool = False) -> int:
        """Seal up to ``limit`` pending events whose MAC holds; how many. 0 at once if
        another sealer is at work, unless ``wait``. Raises ``AuditChainError``."""
        ...

    def seal_all(self) -> int:
        """Seal every event committed so far, waiting for any other sealer; how many."""
        ...

    def verify(self, *, seal: bool = True) -> ChainReport:
        """Seal what is pending (unless ``seal`` is false), then check the whole chain."""
        ...


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

    def listing(self) -> Sequence[StaffMember]:
        """Every staff member, by staff ID."""
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


# --- the IB's own ledger (``services.payments``, ``services.accounts``) --------------------


@dataclass(frozen=True)
class Moved:
    """The balances right after ``Ledger.move``: the paying account's, the payee's (None
    when the payee is at another bank)."""

    debited: int
    credited: int | None


class Ledger(Protocol):
    """The IB's own ledger: deposit accounts, payments (振込, 収納) and statement lines.

    A payment is booked in one unit of work: ``add_payment`` (unique request key and
    receipt number), ``move``, ``add_entries``; rolled back whole if any step fails.
    """

    def open_account(self, new: NewAccount) -> Account: ...

    def accounts_of(self, customer_id: int) -> Sequence[Account]:
        """The customer's accounts, in the order they were opened."""
        ...

    def account_of(self, customer_id: int, account_id: int) -> Account | None:
        """The account, if it is one of the customer's."""
        ...

    def account_at(self, branch_code: str, account_type: AccountType,
                   account_number: str) -> Account | None:
        """The account at our bank with these numbers (a transfer's payee), anyone's."""
        ...

    def by_request_key(self, request_key: str) -> Receipt | None:
        """The receipt of the payment already made with this request key, if any."""
        ...

    def receipt(self, customer_id: int, receipt_number: str) -> Receipt | None:
        """One of the customer's receipts; None for another customer's."""
        ...

    def add_payment(self, order: Order, *, request_key: str, receipt_number: str,
                    now: datetime) -> int:
        """Record a payment (no money moves yet) and return its id. ``BookingClash`` when
        the request key or the receipt number is taken, by a payment committed meanwhile:
        the unit of work is then spoilt and must be discarded."""
        ...

    def move(self, *, debit: int, total: int, credit: int | None, amount: int) -> Moved | None:
        """Take ``total`` from account ``debit`` unless that would overdraw it, and put
        ``amount`` into account ``credit`` (if any), each one conditional statement that
        holds the account until the end of the unit of work; concurrent moves between the
        same accounts never deadlock. None, when ``total`` is not covered: the caller must
        then not commit (a credit may already be applied)."""
        ...

    def add_entries(self, entries: Sequence[NewEntry], *, payment_id: int | None = None) -> None:
        """Write statement lines, in this order, of a payment (``payment_id``) or not."""
        ...

    def recent_entries(self, account_id: int, *, limit: int) -> Sequence[Entry]:
        """The account's newest statement lines, newest first."""
        ...

    def has_entries(self, account_id: int) -> bool: ...

    # --- the daily transfer limit (振込限度額, ``banking.limits``) --------------------------

    def daily_limit(self, customer_id: int) -> int | None:
        """The limit the customer set, None while it is the default."""
        ...

    def set_daily_limit(self, customer_id: int, daily_limit: int, *, now: datetime) -> None: ...

    def claim_daily_limit(self, customer_id: int, *, default: int, now: datetime) -> int:
        """The customer's limit, held until the unit of work ends so that the customer's
        bookings count the day's transfers one after the other (the row is created with
        ``default`` if the customer never set one). ``BookingClash`` when another booking
        created it meanwhile: the unit of work is then spoilt and must be discarded."""
        ...

    def transferred_since(self, customer_id: int, since: datetime) -> int:
        """The amounts (fees excluded) of the customer's transfers booked at or after
        ``since``; bill payments do not count."""
        ...

    # --- registered payees (登録振込先, ``banking.payees``) -----------------------------------

    def saved_payees(self, customer_id: int) -> Sequence[SavedPayee]:
        """The customer's saved payees, oldest first."""
        ...

    def saved_payee(self, customer_id: int, payee_id: int) -> SavedPayee | None:
        """One of the customer's saved payees; None for another customer's."""
        ...

    def save_payee(self, customer_id: int, payee: Payee, *, now: datetime) -> SavedPayee:
        """Save ``payee`` for the customer, or return it if that account is saved already
        (``BookingClash`` if it was saved meanwhile: discard the unit of work)."""
        ...

    def delete_payee(self, customer_id: int, payee_id: int) -> bool:
        """Delete one of the customer's saved payees; False if there was none."""
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

    @property
    def ledger(self) -> Ledger: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, single_statements: bool = False) -> UnitOfWork:
        """A new unit of work; ``single_statements=True`` for a use case whose writes are
        each one atomic statement: where the database allows, each statement then commits
        by itself (``commit()`` is still called, and harmless)."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: Password) -> str: ...

    def verify(self, stored_hash: str, password: Password) -> bool:
        """True if it matches; never raises for a mismatch."""
        ...

    def needs_rehash(self, stored_hash: str) -> bool: ...

    def dummy_verify(self, password: Password) -> None:
        """Spend the time of one verification, so unknown IDs take as long as known ones."""
        ...
