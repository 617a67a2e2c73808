"""SQL repositories of the staff console: staff members and four-eyes requests.

Deciding a request is one conditional UPDATE, so two approvers cannot both carry it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from kinko.domain.errors import Conflict
from kinko.domain.model import (
    PasswordKind,
    PasswordState,
    RequestKind,
    RequestState,
    StaffMember,
    StaffRequest,
    StaffRole,
)
from kinko.store.password_counters import SqlPasswordCounter
from kinko.store.rows import ApiClientRow, StaffRequestRow, StaffRow, TokenRow


class SqlStaffRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _member(self, row: StaffRow) -> StaffMember:
        token_id = self._session.execute(
            select(TokenRow.id).where(TokenRow.staff_id == row.id)).scalar_one_or_none()
        return StaffMember(
            id=row.id, name=row.name, display_name=row.display_name, role=StaffRole(row.role),
            password=PasswordState(row.password_hash, row.password_failures,
                                   row.password_locked_at),
            token_id=token_id, active=row.active, created_at=row.created_at,
        )

    def add(self, *, name: str, display_name: str, role: StaffRole, password_hash: str,
            now: datetime) -> StaffMember:
        row = StaffRow(name=name, display_name=display_name, role=role.value,
                       password_hash=password_hash, password_failures=0, active=True,
                       created_at=now)
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError:
            raise Conflict(f"staff ID {name} already exists") from None
        return self._member(row)

    def get(self, staff_id: int) -> StaffMember | None:
        row = self._session.execute(
            select(StaffRow).where(StaffRow.id == staff_id)
            .execution_options(populate_existing=True)).scalar_one_or_none()
        return self._member(row) if row else None

    def by_name(self, name: str) -> StaffMember | None:
        row = self._session.execute(
            select(StaffRow).where(StaffRow.name == name)
            .execution_options(populate_existing=True)).scalar_one_or_none()
        return self._member(row) if row else None

    def password_counter(self, staff_id: int) -> SqlPasswordCounter:
        return SqlPasswordCounter(self._session, StaffRow, staff_id,
                                  failures=StaffRow.password_failures,
                                  locked_at=StaffRow.password_locked_at)

    def unlock_password(self, staff_id: int) -> None:
        self._session.execute(
            update(StaffRow).where(StaffRow.id == staff_id)
            .values(password_failures=0, password_locked_at=None)
            .execution_options(synchronize_session=False))

    def listing(self) -> Sequence[StaffMember]:
        rows = self._session.execute(select(StaffRow).order_by(StaffRow.name)).scalars()
        return [self._member(row) for row in rows]

    def set_active(self, staff_id: int, active: bool) -> None:
        self._session.execute(
            update(StaffRow).where(StaffRow.id == staff_id).values(active=active)
            .execution_options(synchronize_session=False))


class SqlRequestRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _query(self) -> Select[StaffRequestRow, str, str | None]:
        """Requests with the names of who asked (a staff ID, or ``api:<client>`` for a bank
        system's API client) and who decided."""
        requester, decider = aliased(StaffRow), aliased(StaffRow)
        asked_by = func.coalesce(requester.name, literal("api:") + ApiClientRow.name)
        return (select(StaffRequestRow, asked_by, decider.name)
                .outerjoin(requester, requester.id == StaffRequestRow.requested_by_id)
                .outerjoin(ApiClientRow,
                           ApiClientRow.id == StaffRequestRow.requested_by_client_id)
                .outerjoin(decider, decider.id == StaffRequestRow.decided_by_id))

    @staticmethod
    def _request(row: StaffRequestRow, requested_by: str, decided_by: str | None,
                 ) -> StaffRequest:
        return StaffRequest(
            id=row.id, kind=RequestKind(row.kind), contract_id=row.contract_id,
            serial=row.serial,
            password_kind=PasswordKind(row.password_kind) if row.password_kind else None,
            reason=row.reason, requested_by=requested_by, requested_at=row.requested_at,
            state=RequestState(row.state), decided_by=decided_by, decided_at=row.decided_at,
        )

    def add(self, *, kind: RequestKind, contract_id: str, serial: str | None,
            password_kind: PasswordKind | None, reason: str, requested_by: int | None,
            now: datetime, requested_by_client: int | None = None) -> StaffRequest:
        if (requested_by is None) == (requested_by_client is None):
            raise ValueError("a request has exactly one requester")
        row = StaffRequestRow(
            kind=kind.value, contract_id=contract_id, serial=serial,
            password_kind=password_kind.value if password_kind else None, reason=reason,
            requested_by_id=requested_by, requested_by_client_id=requested_by_client,
            requested_at=now, state=RequestState.PENDING.value)
        self._session.add(row)
        self._session.flush()
        found = self.get(row.id)
        if found is None:  # cannot happen: inserted in this very transaction
            raise Conflict("the request could not be stored")
        return found

    def get(self, request_id: int) -> StaffRequest | None:
        found = self._session.execute(
            self._query().where(StaffRequestRow.id == request_id)
            .execution_options(populate_existing=True)).first()
        return self._request(found[0], found[1], found[2]) if found else None

    def pending(self) -> Sequence[StaffRequest]:
        rows = self._session.execute(
            self._query().where(StaffRequestRow.state == RequestState.PENDING.value)
            .order_by(StaffRequestRow.id)).all()
        return [self._request(row[0], row[1], row[2]) for row in rows]

    def pending_for(self, kind: RequestKind, contract_id: str, serial: str | None,
                    password_kind: PasswordKind | None) -> bool:
        query = select(StaffRequestRow.id).where(
            StaffRequestRow.state == RequestState.PENDING.value,
            StaffRequestRow.kind == kind.value, StaffRequestRow.contract_id == contract_id)
        if serial is not None:
            query = query.where(StaffRequestRow.serial == serial)
        if password_kind is not None:
            query = query.where(StaffRequestRow.password_kind == password_kind.value)
        return self._session.execute(query.limit(1)).first() is not None

    def decide(self, request_id: int, *, state: RequestState, decided_by: int,
               now: datetime) -> bool:
        result = self._session.execute(
            update(StaffRequestRow)
            .where(StaffRequestRow.id == request_id,
                   StaffRequestRow.state == RequestState.PENDING.value,
                   # NULL (an API client asked) never equals anyone: spelled out, as
                   # "NULL != x" is not true in SQL.
                   or_(StaffRequestRow.requested_by_id.is_(None),
                       StaffRequestRow.requested_by_id != decided_by))
            .values(state=state.value, decided_by_id=decided_by, decided_at=now)
            .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0)) == 1
