"""Customers in SQL: contracts, their password hashes, counters and locks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinko.domain.errors import Conflict
from kinko.domain.model import Customer, PasswordKind, PasswordState
from kinko.services.ports import NewCustomer
from kinko.store.password_counters import SqlPasswordCounter
from kinko.store.rows import Base, CustomerRow
from kinko.store.sql import read_one, rowcount

_CUSTOMERS = Base.metadata.tables[CustomerRow.__tablename__]


def _customer(row: CustomerRow | Row[Any]) -> Customer:
    return Customer(
        id=row.id,
        contract_id=row.contract_id,
        name=row.name,
        email=row.email,
        login_password=PasswordState(
            row.login_password_hash, row.login_failures, row.login_locked_at
        ),
        confirmation_password=PasswordState(
            row.confirmation_password_hash, row.confirmation_failures, row.confirmation_locked_at
        ),
        login_otp_required=row.login_otp_required,
        created_at=row.created_at,
    )



_PASSWORD_COLUMNS = {
    PasswordKind.LOGIN: ("login_password_hash", "login_failures", "login_locked_at"),
    PasswordKind.CONFIRMATION: (
        "confirmation_password_hash", "confirmation_failures", "confirmation_locked_at",
    ),
}


class SqlCustomerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, new: NewCustomer) -> Customer:
        row = CustomerRow(
            contract_id=new.contract_id,
            name=new.name,
            email=new.email,
            login_password_hash=new.login_password_hash,
            login_failures=0,
            confirmation_password_hash=new.confirmation_password_hash,
            confirmation_failures=0,
            login_otp_required=False,
            created_at=new.created_at,
        )
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError:
            raise Conflict(f"contract ID {new.contract_id} already exists") from None
        return _customer(row)

    def get(self, customer_id: int) -> Customer | None:
        row = read_one(self._session, select(_CUSTOMERS).where(_CUSTOMERS.c.id == customer_id))
        return _customer(row) if row else None

    def by_contract_id(self, contract_id: str) -> Customer | None:
        row = read_one(self._session,
                    select(_CUSTOMERS).where(_CUSTOMERS.c.contract_id == contract_id))
        return _customer(row) if row else None

    def password_counter(self, customer_id: int, kind: PasswordKind) -> SqlPasswordCounter:
        _, failures_name, locked_name = _PASSWORD_COLUMNS[kind]
        return SqlPasswordCounter(self._session, CustomerRow, customer_id,
                                  failures=getattr(CustomerRow, failures_name),
                                  locked_at=getattr(CustomerRow, locked_name))

    def unlock_password(self, customer_id: int, kind: PasswordKind) -> bool:
        _, failures_name, locked_name = _PASSWORD_COLUMNS[kind]
        result = self._session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == customer_id, getattr(CustomerRow, locked_name).is_not(None))
            .values({failures_name: 0, locked_name: None})
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    def set_password_hash(self, customer_id: int, kind: PasswordKind, new_hash: str) -> None:
        hash_name, _, _ = _PASSWORD_COLUMNS[kind]
        self._session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id)
            .values({hash_name: new_hash}).execution_options(synchronize_session=False)
        )

    def set_login_otp_required(self, customer_id: int, required: bool) -> None:
        self._session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id)
            .values(login_otp_required=required).execution_options(synchronize_session=False)
        )
