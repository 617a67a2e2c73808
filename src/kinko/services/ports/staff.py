"""Bank staff, their four-eyes requests, and the bank systems' API clients."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from kinko.domain.model import (
    ApiClient,
    ApiScope,
    PasswordKind,
    RequestKind,
    RequestState,
    StaffMember,
    StaffRequest,
    StaffRole,
)
from kinko.services.ports.customers import PasswordCounter


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

