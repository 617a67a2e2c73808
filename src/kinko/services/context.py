"""What every service is given: a unit of work factory, the clock, the rules, a hasher.

The composition root (``kinko.bootstrap``) builds one; tests build their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from kinko.domain.policy import Policy
from kinko.services.ports import PasswordHasher, UnitOfWorkFactory

Clock = Callable[[], datetime]


class Metrics(Protocol):
    """What the verification path reports for monitoring (``kinko.metrics`` implements it
    for Prometheus); the default does nothing."""

    def verification(self, outcome: str, seconds: float) -> None:
        """One code checked: ``outcome`` is ``success`` or an error code."""
        ...

    def token_locked(self) -> None: ...


class NoMetrics:
    def verification(self, outcome: str, seconds: float) -> None:
        pass

    def token_locked(self) -> None:
        pass


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    policy: Policy = field(default_factory=Policy)
    clock: Clock = system_clock
    metrics: Metrics = field(default_factory=NoMetrics)
