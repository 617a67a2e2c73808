"""The unit of work: one database transaction holding every SQL repository, and the factory
the composition root hands to the services."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kinko.store.api_clients import SqlApiClientRepository
from kinko.store.audit_log import SqlAuditLog
from kinko.store.customers import SqlCustomerRepository
from kinko.store.ledger import SqlLedger
from kinko.store.outbox import SqlOutbox
from kinko.store.rate_limits import SqlRateLimits
from kinko.store.seedbox import SeedBox
from kinko.store.staff_store import SqlRequestRepository, SqlStaffRepository
from kinko.store.tokens import OpenedSeeds, SqlTokenRepository


class SqlUnitOfWork:
    """One database transaction; rolled back on exit unless ``commit()`` was called."""

    tokens: SqlTokenRepository
    customers: SqlCustomerRepository
    audit: SqlAuditLog
    rate_limits: SqlRateLimits
    outbox: SqlOutbox
    staff: SqlStaffRepository
    requests: SqlRequestRepository
    api_clients: SqlApiClientRepository
    ledger: SqlLedger

    def __init__(self, sessions: sessionmaker[Session], seedbox: SeedBox,
                 seeds: OpenedSeeds | None = None) -> None:
        self._sessions = sessions
        self._seedbox = seedbox
        self._seeds = seeds

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._sessions()
        self.tokens = SqlTokenRepository(self.session, self._seedbox, self._seeds)
        self.customers = SqlCustomerRepository(self.session)
        self.audit = SqlAuditLog(self.session, self._seedbox)
        self.rate_limits = SqlRateLimits(self.session)
        self.outbox = SqlOutbox(self.session)
        self.staff = SqlStaffRepository(self.session)
        self.requests = SqlRequestRepository(self.session)
        self.api_clients = SqlApiClientRepository(self.session)
        self.ledger = SqlLedger(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()


class SqlUnitOfWorkFactory:
    """Units of work on one engine. ``single_statements=True`` asks for one whose every
    statement is its own transaction where the database allows it (PostgreSQL: autocommit,
    no BEGIN or COMMIT round trips), for a use case whose writes are each one atomic
    statement; SQLite, embedded and with one writer at a time, keeps one transaction."""

    def __init__(self, engine: Engine, seedbox: SeedBox) -> None:
        self.engine = engine
        self.seedbox = seedbox
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        autocommit = (engine.execution_options(isolation_level="AUTOCOMMIT")
                      if engine.dialect.name == "postgresql" else engine)
        self._single_statement_sessions = sessionmaker(autocommit, expire_on_commit=False)
        #: One per process (per factory): seeds opened for verifications.
        self.opened_seeds = OpenedSeeds(seedbox)

    def __call__(self, *, single_statements: bool = False) -> SqlUnitOfWork:
        sessions = self._single_statement_sessions if single_statements else self._sessions
        return SqlUnitOfWork(sessions, self.seedbox, self.opened_seeds)
