"""The small storage interfaces the services need; ``kinko.store`` implements them.

Every method that decides on replay or lockout is one atomic conditional update. One module
per aggregate; the services import the names from here.
"""

from __future__ import annotations

from kinko.services.ports.audit import (
    AuditChainError,
    AuditFilter,
    AuditLog,
    AuditPage,
    AuditTrail,
    ChainReport,
    StoredAuditEvent,
)
from kinko.services.ports.customers import (
    CustomerRepository,
    NewCustomer,
    PasswordCounter,
    PasswordHasher,
    RateLimits,
)
from kinko.services.ports.ledger import Ledger, Moved
from kinko.services.ports.outbox import Outbox
from kinko.services.ports.staff import ApiClientRepository, RequestRepository, StaffRepository
from kinko.services.ports.tokens import ListedToken, NewToken, TokenRef, TokenRepository, Verifiable
from kinko.services.ports.uow import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "ApiClientRepository",
    "AuditChainError",
    "AuditFilter",
    "AuditLog",
    "AuditPage",
    "AuditTrail",
    "ChainReport",
    "CustomerRepository",
    "Ledger",
    "ListedToken",
    "Moved",
    "NewCustomer",
    "NewToken",
    "Outbox",
    "PasswordCounter",
    "PasswordHasher",
    "RateLimits",
    "RequestRepository",
    "StaffRepository",
    "StoredAuditEvent",
    "TokenRef",
    "TokenRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "Verifiable",
]
