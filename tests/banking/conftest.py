"""A small bank on the real store for the ledger tests: customers, accounts, balances, rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kinko.banking.accounts import Account, AccountType
from kinko.banking.drafts import Draft, Receipt
from kinko.domain.events import Actor, Channel
from kinko.domain.model import Customer
from kinko.services import accounts, payments
from kinko.services.context import Context
from kinko.services.transactions import Authorized, Method
from kinko.store.rows import AccountRow, LedgerEntryRow, TransferRow
from tests.support import Harness


@dataclass
class Bank:
    harness: Harness

    @property
    def engine(self) -> Engine:
        return self.harness.kinko.engine

    @property
    def ctx(self) -> Context:
        return self.harness.ctx

    def now(self) -> datetime:
        return self.harness.clock()

    def customer(self, contract_id: str = "1000000001", *, name: str = "金庫 花子") -> Customer:
        return self.harness.customer(contract_id, name=name)

    def account(
        self,
        customer: Customer,
        number: str,
        *,
        balance: int,
        branch_code: str = "001",
        account_type: AccountType = AccountType.ORDINARY,
        kana: str = "ｷﾝｺ ﾊﾅｺ",
    ) -> Account:
        return accounts.open_account(self.ctx, customer_id=customer.id, branch_code=branch_code,
                                     branch_name="本店営業部", account_type=account_type,
                                     account_number=number, holder_kana=kana, balance=balance)

    def book(self, draft: Draft, request_key: str) -> Receipt:
        """Book ``draft`` as if its customer had just proved it with the confirmation
        password (``payments.confirm`` checks a real proof; see test_confirm.py)."""
        with self.ctx.uow() as uow:
            customer = uow.customers.get(draft.customer_id)
        assert customer is not None
        authorized = Authorized(customer.id, customer.contract_id, Method.CONFIRMATION_PASSWORD,
                                Actor.customer(customer.contract_id, Channel.WEB))
        return payments.book(self.ctx, draft, authorized, request_key=request_key)

    def set_daily_limit(self, customer: Customer, daily_limit: int) -> None:
        """Set the customer's daily transfer limit as the bank's own systems would."""
        with self.ctx.uow() as uow:
            uow.ledger.set_daily_limit(customer.id, daily_limit, now=self.now())
            uow.commit()

    def balance(self, account: Account) -> int:
        with Session(self.engine) as session:
            return session.get_one(AccountRow, account.id).balance

    def transfer_count(self) -> int:
        with Session(self.engine) as session:
            return session.execute(select(func.count()).select_from(TransferRow)).scalar_one()

    def lines(self, account: Account) -> list[tuple[int, int, str]]:
        """The account's statement lines, oldest first: (amount, balance after, description)."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(LedgerEntryRow).where(LedgerEntryRow.account_id == account.id)
                .order_by(LedgerEntryRow.id)
            ).scalars()
            return [(row.amount, row.balance_after, row.description) for row in rows]


@pytest.fixture
def bank(harness: Harness) -> Bank:
    return Bank(harness)


@pytest.fixture
def hanako(bank: Bank) -> Customer:
    return bank.customer("1000000001", name="金庫 花子")


@pytest.fixture
def account(bank: Bank, hanako: Customer) -> Account:
    return bank.account(hanako, "1234561", balance=100_000)
