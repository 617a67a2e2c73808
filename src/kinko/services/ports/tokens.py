"""Tokens: the new token, how a verification finds one, the repository."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kinko.domain.events import AuditEvent
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import Token, TokenOrigin
from kinko.domain.otp import TotpParameters
from kinko.domain.secrets import Seed
from kinko.domain.verification import Decision


@dataclass(frozen=True)
class NewToken:
    serial: str
    params: TotpParameters
    origin: TokenOrigin
    created_at: datetime
    expires_at: datetime | None


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

