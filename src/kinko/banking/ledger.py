"""Deposit accounts of the IB's ledger (普通預金, 当座預金) and reading them.

Transfers and bill payments move money in ``kinko.banking.transfers``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kinko.store.rows import AccountRow


class AccountType(enum.StrEnum):
    ORDINARY = "ordinary"   # 普通
    CURRENT = "current"     # 当座
    SAVINGS = "savings"     # 貯蓄

    @property
    def label(self) -> str:
        return {"ordinary": "普通", "current": "当座", "savings": "貯蓄"}[self.value]


@dataclass(frozen=True)
class Account:
    id: int
    customer_id: int
    branch_code: str
    branch_name: str
    account_type: AccountType
    account_number: str
    holder_kana: str
    balance: int


def account_from_row(row: AccountRow) -> Account:
    return Account(row.id, row.customer_id, row.branch_code, row.branch_name,
                   AccountType(row.account_type), row.account_number, row.holder_kana,
                   row.balance)


def open_account(
    engine: Engine,
    *,
    customer_id: int,
    branch_code: str,
    branch_name: str,
    account_type: AccountType,
    account_number: str,
    holder_kana: str,
    balance: int,
    now: datetime,
) -> Account:
    if balance < 0:
        raise ValueError("an account cannot open overdrawn")
    with Session(engine) as session, session.begin():
        row = AccountRow(customer_id=customer_id, branch_code=branch_code,
                         branch_name=branch_name, account_type=account_type.value,
                         account_number=account_number, holder_kana=holder_kana,
                         balance=balance, opened_at=now)
        session.add(row)
        session.flush()
        return account_from_row(row)


def accounts_of(engine: Engine, customer_id: int) -> list[Account]:
    with Session(engine) as session:
        rows = session.execute(
            select(AccountRow).where(AccountRow.customer_id == customer_id)
            .order_by(AccountRow.id)
        ).scalars()
        return [account_from_row(row) for row in rows]
