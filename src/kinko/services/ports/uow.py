"""The unit of work: one transaction holding every repository, and its factory."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from kinko.services.ports.audit import AuditLog
from kinko.services.ports.customers import CustomerRepository, RateLimits
from kinko.services.ports.ledger import Ledger
from kinko.services.ports.outbox import Outbox
from kinko.services.ports.staff import ApiClientRepository, RequestRepository, StaffRepository
from kinko.services.ports.tokens import TokenRepository


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

