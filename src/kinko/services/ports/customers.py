"""Customers: the new customer, their password counters, login rate limits, the hasher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from kinko.domain.model import Customer, PasswordKind
from kinko.domain.secrets import Password
from kinko.domain.throttle import WindowCounts


@dataclass(frozen=True)
class NewCustomer:
    contract_id: str
    name: str
    email: str | None
    login_password_hash: str
    confirmation_password_hash: str
    created_at: datetime


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


class RateLimits(Protocol):
    def hit(self, key: str, *, window_start: datetime, window: timedelta) -> WindowCounts:
        """Count one attempt for ``key`` in the fixed window of length ``window`` starting at
        ``window_start``; return that window's count so far and the previous window's. Atomic."""
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

