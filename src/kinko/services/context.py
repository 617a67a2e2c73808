"""What every service is given: a unit of work factory, the clock, the rules, a hasher.

The composition root (``kinko.bootstrap``) builds one; tests build their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kinko.domain.policy import Policy
from kinko.services.ports import PasswordHasher, UnitOfWorkFactory

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    policy: Policy = field(default_factory=Policy)
    clock: Clock = system_clock
