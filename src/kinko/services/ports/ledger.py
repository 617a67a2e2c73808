"""The IB's own ledger (``services.payments``, ``services.accounts``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kinko.banking.accounts import Account, AccountType, Entry, NewAccount, NewEntry
from kinko.banking.drafts import Order, Payee, Receipt
from kinko.banking.payees import SavedPayee


@dataclass(frozen=True)
class Moved:
    """The balances right after ``Ledger.move``: the paying account's, the payee's (None
    when the payee is at another bank)."""

    debited: int
    credited: int | None


class Ledger(Protocol):
    """The IB's own ledger: deposit accounts, payments (振込, 収納) and statement lines.

    A payment is booked in one unit of work: ``add_payment`` (unique request key and
    receipt number), ``move``, ``add_entries``; rolled back whole if any step fails.
    """

    def open_account(self, new: NewAccount) -> Account: ...

    def accounts_of(self, customer_id: int) -> Sequence[Account]:
        """The customer's accounts, in the order they were opened."""
        ...

    def account_of(self, customer_id: int, account_id: int) -> Account | None:
        """The account, if it is one of the customer's."""
        ...

    def account_at(self, branch_code: str, account_type: AccountType,
                   account_number: str) -> Account | None:
        """The account at our bank with these numbers (a transfer's payee), anyone's."""
        ...

    def by_request_key(self, request_key: str) -> Receipt | None:
        """The receipt of the payment already made with this request key, if any."""
        ...

    def receipt(self, customer_id: int, receipt_number: str) -> Receipt | None:
        """One of the customer's receipts; None for another customer's."""
        ...

    def add_payment(self, order: Order, *, request_key: str, receipt_number: str,
                    now: datetime) -> int:
        """Record a payment (no money moves yet) and return its id. ``BookingClash`` when
        the request key or the receipt number is taken, by a payment committed meanwhile:
        the unit of work is then spoilt and must be discarded."""
        ...

    def move(self, *, debit: int, total: int, credit: int | None, amount: int) -> Moved | None:
        """Take ``total`` from account ``debit`` unless that would overdraw it, and put
        ``amount`` into account ``credit`` (if any), each one conditional statement that
        holds the account until the end of the unit of work; concurrent moves between the
        same accounts never deadlock. None, when ``total`` is not covered: the caller must
        then not commit (a credit may already be applied)."""
        ...

    def add_entries(self, entries: Sequence[NewEntry], *, payment_id: int | None = None) -> None:
        """Write statement lines, in this order, of a payment (``payment_id``) or not."""
        ...

    def recent_entries(self, account_id: int, *, limit: int) -> Sequence[Entry]:
        """The account's newest statement lines, newest first."""
        ...

    def has_entries(self, account_id: int) -> bool: ...

    # --- the daily transfer limit (振込限度額, ``banking.limits``) --------------------------

    def daily_limit(self, customer_id: int) -> int | None:
        """The limit the customer set, None while it is the default."""
        ...

    def set_daily_limit(self, customer_id: int, daily_limit: int, *, now: datetime) -> None: ...

    def claim_daily_limit(self, customer_id: int, *, default: int, now: datetime) -> int:
        """The customer's limit, held until the unit of work ends so that the customer's
        bookings count the day's transfers one after the other (the row is created with
        ``default`` if the customer never set one). ``BookingClash`` when another booking
        created it meanwhile: the unit of work is then spoilt and must be discarded."""
        ...

    def transferred_since(self, customer_id: int, since: datetime) -> int:
        """The amounts (fees excluded) of the customer's transfers booked at or after
        ``since``; bill payments do not count."""
        ...

    # --- registered payees (登録振込先, ``banking.payees``) -----------------------------------

    def saved_payees(self, customer_id: int) -> Sequence[SavedPayee]:
        """The customer's saved payees, oldest first."""
        ...

    def saved_payee(self, customer_id: int, payee_id: int) -> SavedPayee | None:
        """One of the customer's saved payees; None for another customer's."""
        ...

    def save_payee(self, customer_id: int, payee: Payee, *, now: datetime) -> SavedPayee:
        """Save ``payee`` for the customer, or return it if that account is saved already
        (``BookingClash`` if it was saved meanwhile: discard the unit of work)."""
        ...

    def delete_payee(self, customer_id: int, payee_id: int) -> bool:
        """Delete one of the customer's saved payees; False if there was none."""
        ...

