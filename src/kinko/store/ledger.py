"""The IB's ledger in SQL (``services.ports.Ledger``): accounts, payments, statement lines,
the daily transfer limits and the registered payees.

Money moves in conditional UPDATEs: a debit applies only while the balance covers it, so no
account is ever overdrawn however many payments race (PostgreSQL re-checks the WHERE clause
after waiting for the row; SQLite has one writer). A request key is unique in the table, so
two bookings with one key cannot both commit. A booking claims the customer's transfer limit
row with an UPDATE before counting the day's transfers: on PostgreSQL the second of two
bookings waits for the first to commit and then counts its transfer too (each statement of
READ COMMITTED sees what committed before it); SQLite's one writer serialises them anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinko.banking.accounts import Account, AccountType, Entry, NewAccount, NewEntry
from kinko.banking.drafts import Bill, Order, Payee, PaymentKind, Receipt
from kinko.banking.errors import BookingClash
from kinko.banking.payees import SavedPayee
from kinko.services.ports import Moved
from kinko.store.rows import (
    AccountRow,
    LedgerEntryRow,
    RegisteredPayeeRow,
    TransferLimitRow,
    TransferRow,
)


def _account(row: AccountRow) -> Account:
    return Account(row.id, row.customer_id, row.branch_code, row.branch_name,
                   AccountType(row.account_type), row.account_number, row.holder_kana,
                   row.balance)


def _entry(row: LedgerEntryRow, receipt_number: str | None) -> Entry:
    return Entry(row.id, row.account_id, row.amount, row.balance_after, row.description,
                 row.created_at, receipt_number)


def _saved_payee(row: RegisteredPayeeRow) -> SavedPayee:
    return SavedPayee(row.id, row.customer_id,
                      Payee(row.bank_code, row.bank_name, row.branch_code,
                            AccountType(row.account_type), row.account_number, row.kana),
                      row.saved_at)


class SqlLedger:
    """The ledger on the unit of work's session; it never commits."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # --- accounts ------------------------------------------------------------------------

    def open_account(self, new: NewAccount) -> Account:
        row = AccountRow(customer_id=new.customer_id, branch_code=new.branch_code,
                         branch_name=new.branch_name, account_type=new.account_type.value,
                         account_number=new.account_number, holder_kana=new.holder_kana,
                         balance=new.balance, opened_at=new.opened_at)
        self._session.add(row)
        self._session.flush()
        return _account(row)

    def accounts_of(self, customer_id: int) -> Sequence[Account]:
        rows = self._session.execute(
            select(AccountRow).where(AccountRow.customer_id == customer_id)
            .order_by(AccountRow.id)
        ).scalars()
        return [_account(row) for row in rows]

    def account_of(self, customer_id: int, account_id: int) -> Account | None:
        row = self._session.execute(
            select(AccountRow).where(AccountRow.id == account_id,
                                     AccountRow.customer_id == customer_id)
        ).scalar_one_or_none()
        return None if row is None else _account(row)

    def account_at(self, branch_code: str, account_type: AccountType,
                   account_number: str) -> Account | None:
        row = self._session.execute(
            select(AccountRow).where(AccountRow.branch_code == branch_code,
                                     AccountRow.account_type == account_type.value,
                                     AccountRow.account_number == account_number)
        ).scalar_one_or_none()
        return None if row is None else _account(row)

    # --- payments ------------------------------------------------------------------------

    def by_request_key(self, request_key: str) -> Receipt | None:
        row = self._session.execute(
            select(TransferRow).where(TransferRow.request_key == request_key)
        ).scalar_one_or_none()
        return None if row is None else self._receipt(row)

    def receipt(self, customer_id: int, receipt_number: str) -> Receipt | None:
        row = self._session.execute(
            select(TransferRow).where(TransferRow.receipt_number == receipt_number,
                                      TransferRow.customer_id == customer_id)
        ).scalar_one_or_none()
        return None if row is None else self._receipt(row)

    def add_payment(self, order: Order, *, request_key: str, receipt_number: str,
                    now: datetime) -> int:
        payee, bill = order.payee, order.bill
        row = TransferRow(
            receipt_number=receipt_number, customer_id=order.customer_id,
            from_account_id=order.from_account_id, kind=order.kind.value,
            amount=order.amount, fee=order.fee,
            payee_bank_code=payee.bank_code if payee else None,
            payee_bank_name=payee.bank_name if payee else None,
            payee_branch_code=payee.branch_code if payee else None,
            payee_account_type=payee.account_type.value if payee else None,
            payee_account_number=payee.account_number if payee else None,
            payee_kana=payee.kana if payee else None,
            biller_number=bill.biller_number if bill else None,
            biller_name=bill.biller_name if bill else None,
            customer_number=bill.customer_number if bill else None,
            confirmation_number=bill.confirmation_number if bill else None,
            request_key=request_key, created_at=now,
        )
        self._session.add(row)
        try:
            # A taken request key or receipt number fails here, before any money moves.
            # On PostgreSQL the second of two concurrent inserts of one key waits for the
            # first to commit, then fails: the whole unit of work is rolled back.
            self._session.flush()
        except IntegrityError as taken:
            raise BookingClash("the request key or the receipt number is taken") from taken
        return row.id

    def move(self, *, debit: int, total: int, credit: int | None, amount: int) -> Moved | None:
        # The accounts are taken in id order, so that payments crossing between the same
        # two accounts in opposite directions cannot deadlock on PostgreSQL.
        credited: int | None = None
        if credit is not None and credit < debit:
            credited = self._credit(credit, amount)
        debited = self._debit(debit, total)
        if debited is None:
            return None
        if credit is not None and credited is None:
            credited = self._credit(credit, amount)
        return Moved(debited, credited)

    def _debit(self, account_id: int, total: int) -> int | None:
        """One statement that cannot overdraw: the new balance, or None if not covered."""
        balance = self._session.execute(
            update(AccountRow)
            .where(AccountRow.id == account_id, AccountRow.balance >= total)
            .values(balance=AccountRow.balance - total)
            .returning(AccountRow.balance)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        return None if balance is None else int(balance)

    def _credit(self, account_id: int, amount: int) -> int:
        balance = self._session.execute(
            update(AccountRow)
            .where(AccountRow.id == account_id)
            .values(balance=AccountRow.balance + amount)
            .returning(AccountRow.balance)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        return int(balance)

    # --- statement lines -----------------------------------------------------------------

    def add_entries(self, entries: Sequence[NewEntry], *, payment_id: int | None = None) -> None:
        for entry in entries:  # one at a time, so that id order is the order given
            self._session.add(LedgerEntryRow(
                account_id=entry.account_id, transfer_id=payment_id, amount=entry.amount,
                balance_after=entry.balance_after, description=entry.description,
                created_at=entry.created_at))
            self._session.flush()

    def recent_entries(self, account_id: int, *, limit: int) -> Sequence[Entry]:
        rows = self._session.execute(
            select(LedgerEntryRow, TransferRow.receipt_number)
            .outerjoin(TransferRow, LedgerEntryRow.transfer_id == TransferRow.id)
            .where(LedgerEntryRow.account_id == account_id)
            .order_by(LedgerEntryRow.id.desc())
            .limit(limit)
        ).all()
        return [_entry(entry, number) for entry, number in rows]

    def has_entries(self, account_id: int) -> bool:
        return bool(self._session.execute(
            select(exists().where(LedgerEntryRow.account_id == account_id))
        ).scalar_one())

    # --- the daily transfer limit --------------------------------------------------------

    def daily_limit(self, customer_id: int) -> int | None:
        limit = self._session.execute(
            select(TransferLimitRow.daily_limit)
            .where(TransferLimitRow.customer_id == customer_id)
        ).scalar_one_or_none()
        return None if limit is None else int(limit)

    def set_daily_limit(self, customer_id: int, daily_limit: int, *, now: datetime) -> None:
        changed = self._session.execute(
            update(TransferLimitRow)
            .where(TransferLimitRow.customer_id == customer_id)
            .values(daily_limit=daily_limit, updated_at=now)
            .returning(TransferLimitRow.customer_id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if changed is None:
            self._insert_limit(customer_id, daily_limit, now)

    def claim_daily_limit(self, customer_id: int, *, default: int, now: datetime) -> int:
        # A no-op UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) that
        # makes this customer's next booking wait until this one ends.
        limit = self._session.execute(
            update(TransferLimitRow)
            .where(TransferLimitRow.customer_id == customer_id)
            .values(daily_limit=TransferLimitRow.daily_limit)
            .returning(TransferLimitRow.daily_limit)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if limit is not None:
            return int(limit)
        self._insert_limit(customer_id, default, now)
        return default

    def _insert_limit(self, customer_id: int, daily_limit: int, now: datetime) -> None:
        self._session.add(TransferLimitRow(customer_id=customer_id, daily_limit=daily_limit,
                                           updated_at=now))
        try:
            # Two first bookings of one customer at once: the second insert waits for the
            # first (PostgreSQL) and then fails; the caller starts again and finds the row.
            self._session.flush()
        except IntegrityError as taken:
            raise BookingClash("the transfer limit row was created meanwhile") from taken

    def transferred_since(self, customer_id: int, since: datetime) -> int:
        total = self._session.execute(
            select(func.coalesce(func.sum(TransferRow.amount), 0))
            .where(TransferRow.customer_id == customer_id,
                   TransferRow.kind == PaymentKind.TRANSFER.value,
                   TransferRow.created_at >= since)
        ).scalar_one()
        return int(total)

    # --- registered payees ---------------------------------------------------------------

    def saved_payees(self, customer_id: int) -> Sequence[SavedPayee]:
        rows = self._session.execute(
            select(RegisteredPayeeRow).where(RegisteredPayeeRow.customer_id == customer_id)
            .order_by(RegisteredPayeeRow.id)
        ).scalars()
        return [_saved_payee(row) for row in rows]

    def saved_payee(self, customer_id: int, payee_id: int) -> SavedPayee | None:
        row = self._session.execute(
            select(RegisteredPayeeRow).where(RegisteredPayeeRow.id == payee_id,
                                             RegisteredPayeeRow.customer_id == customer_id)
        ).scalar_one_or_none()
        return None if row is None else _saved_payee(row)

    def save_payee(self, customer_id: int, payee: Payee, *, now: datetime) -> SavedPayee:
        row = self._session.execute(
            select(RegisteredPayeeRow).where(
                RegisteredPayeeRow.customer_id == customer_id,
                RegisteredPayeeRow.bank_code == payee.bank_code,
                RegisteredPayeeRow.branch_code == payee.branch_code,
                RegisteredPayeeRow.account_type == payee.account_type.value,
                RegisteredPayeeRow.account_number == payee.account_number)
        ).scalar_one_or_none()
        if row is not None:
            return _saved_payee(row)
        row = RegisteredPayeeRow(customer_id=customer_id, bank_code=payee.bank_code,
                                 bank_name=payee.bank_name, branch_code=payee.branch_code,
                                 account_type=payee.account_type.value,
                                 account_number=payee.account_number, kana=payee.kana,
                                 saved_at=now)
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError as taken:
            raise BookingClash("the payee was saved meanwhile") from taken
        return _saved_payee(row)

    def delete_payee(self, customer_id: int, payee_id: int) -> bool:
        deleted = self._session.execute(
            delete(RegisteredPayeeRow)
            .where(RegisteredPayeeRow.id == payee_id,
                   RegisteredPayeeRow.customer_id == customer_id)
            .returning(RegisteredPayeeRow.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        return deleted is not None

    # --- reading a payment back ----------------------------------------------------------

    def _receipt(self, row: TransferRow) -> Receipt:
        """The receipt as it was issued: the balance is the one right after this payment."""
        source = self._session.get_one(AccountRow, row.from_account_id)
        balance_after = self._session.execute(
            select(LedgerEntryRow.balance_after)
            .where(LedgerEntryRow.transfer_id == row.id,
                   LedgerEntryRow.account_id == row.from_account_id)
            .order_by(LedgerEntryRow.id.desc())
            .limit(1)
        ).scalar_one()
        # The columns are NULL only for the other kind; "" never reaches a receipt.
        payee: Payee | None = None
        bill: Bill | None = None
        if row.kind == PaymentKind.TRANSFER:
            payee = Payee(row.payee_bank_code or "", row.payee_bank_name or "",
                          row.payee_branch_code or "", AccountType(row.payee_account_type or ""),
                          row.payee_account_number or "", row.payee_kana or "")
        else:
            bill = Bill(row.biller_number or "", row.biller_name or "",
                        row.customer_number or "", row.confirmation_number or "")
        return Receipt(
            receipt_number=row.receipt_number, kind=PaymentKind(row.kind),
            customer_id=row.customer_id, amount=row.amount, fee=row.fee,
            created_at=row.created_at, from_account_id=source.id,
            from_branch_name=source.branch_name,
            from_account_type=AccountType(source.account_type),
            from_account_number=source.account_number, balance_after=balance_after,
            payee=payee, bill=bill,
        )
