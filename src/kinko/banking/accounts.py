"""Deposit accounts of the IB's ledger (普通預金, 当座預金, 貯蓄預金) and their statement lines.

Plain values: the ledger port (``kinko.services.ports.Ledger``) stores and reads them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Account", "AccountType", "Entry", "NewAccount", "NewEntry"]


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


@dataclass(frozen=True)
class NewAccount:
    """An account to open; it never opens overdrawn."""

    customer_id: int
    branch_code: str
    branch_name: str
    account_type: AccountType
    account_number: str
    holder_kana: str
    balance: int
    opened_at: datetime

    def __post_init__(self) -> None:
        if self.balance < 0:
            raise ValueError("an account cannot open overdrawn")


@dataclass(frozen=True)
class NewEntry:
    """A statement line to write: signed yen and the balance right after it."""

    account_id: int
    amount: int
    balance_after: int
    description: str
    created_at: datetime


@dataclass(frozen=True)
class Entry:
    """One line of an account's statement (入出金明細): negative amounts are withdrawals."""

    id: int
    account_id: int
    amount: int
    balance_after: int
    description: str
    created_at: datetime
    receipt_number: str | None  # when the entry belongs to a transfer or payment
