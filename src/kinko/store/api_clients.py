"""SQL repository of the bank systems' API clients (``api_clients``).

Only the SHA-256 of a client's secret is stored; a revoked client stays as a row, so its
name is never given to another system and the audit trail's ``api:<name>`` stays unique.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinko.domain.errors import Conflict
from kinko.domain.model import ApiClient, ApiScope
from kinko.store.rows import ApiClientRow
from kinko.store.sql import rowcount


def _client(row: ApiClientRow) -> ApiClient:
    return ApiClient(
        id=row.id, name=row.name,
        scopes=frozenset(ApiScope(scope) for scope in row.scopes.split()),
        secret_hash=row.secret_hash, created_at=row.created_at, rotated_at=row.rotated_at,
        revoked_at=row.revoked_at, last_used_at=row.last_used_at,
    )


class SqlApiClientRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, *, name: str, scopes: frozenset[ApiScope], secret_hash: str,
            now: datetime) -> ApiClient:
        row = ApiClientRow(name=name, scopes=" ".join(sorted(scopes)),
                           secret_hash=secret_hash, created_at=now)
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError:
            raise Conflict(f"API client {name} already exists") from None
        return _client(row)

    def get(self, client_id: int) -> ApiClient | None:
        row = self._session.execute(
            select(ApiClientRow).where(ApiClientRow.id == client_id)
            .execution_options(populate_existing=True)).scalar_one_or_none()
        return _client(row) if row else None

    def by_name(self, name: str) -> ApiClient | None:
        row = self._session.execute(
            select(ApiClientRow).where(ApiClientRow.name == name)
            .execution_options(populate_existing=True)).scalar_one_or_none()
        return _client(row) if row else None

    def listing(self) -> Sequence[ApiClient]:
        rows = self._session.execute(select(ApiClientRow).order_by(ApiClientRow.name))
        return [_client(row) for row in rows.scalars()]

    def set_secret(self, client_id: int, *, secret_hash: str, now: datetime) -> bool:
        result = self._session.execute(
            update(ApiClientRow)
            .where(ApiClientRow.id == client_id, ApiClientRow.revoked_at.is_(None))
            .values(secret_hash=secret_hash, rotated_at=now)
            .execution_options(synchronize_session=False))
        return rowcount(result) == 1

    def revoke(self, client_id: int, *, now: datetime) -> bool:
        result = self._session.execute(
            update(ApiClientRow)
            .where(ApiClientRow.id == client_id, ApiClientRow.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False))
        return rowcount(result) == 1

    def touch(self, client_id: int, *, now: datetime) -> None:
        self._session.execute(
            update(ApiClientRow).where(ApiClientRow.id == client_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False))
