"""The customer's deposit accounts and their statements (ホーム), and opening an account.

Opening is for the bank's own systems, the demo and tests: the IB has no screen for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kinko.banking.accounts import Account, AccountType, Entry, NewAccount
from kinko.domain.errors import NotFound
from kinko.services.context import Context

__all__ = ["Statement", "accounts_of", "open_account", "recent_entries", "statements"]


@dataclass(frozen=True)
class Statement:
    """An account with its newest statement lines (newest first)."""

    account: Account
    entries: list[Entry]


def open_account(
    ctx: Context,
    *,
    customer_id: int,
    branch_code: str,
    branch_name: str,
    account_type: AccountType,
    account_number: str,
    holder_kana: str,
    balance: int,
) -> Account:
    """Open an account with an opening balance (never overdrawn)."""
    new = NewAccount(customer_id, branch_code, branch_name, account_type, account_number,
                     holder_kana, balance, ctx.clock())
    with ctx.uow() as uow:
        account = uow.ledger.open_account(new)
        uow.commit()
    return account


def accounts_of(ctx: Context, customer_id: int) -> list[Account]:
    """The customer's accounts, in the order they were opened."""
    with ctx.uow() as uow:
        return list(uow.ledger.accounts_of(customer_id))


def statements(ctx: Context, customer_id: int, *, limit: int = 10) -> list[Statement]:
    """Each of the customer's accounts with its newest ``limit`` statement lines."""
    _check_limit(limit)
    with ctx.uow() as uow:
        return [Statement(account, list(uow.ledger.recent_entries(account.id, limit=limit)))
                for account in uow.ledger.accounts_of(customer_id)]


def recent_entries(ctx: Context, customer_id: int, account_id: int, *,
                   limit: int = 20) -> list[Entry]:
    """The newest statement lines of one of the customer's accounts, newest first;
    NotFound for an account that is not the customer's."""
    _check_limit(limit)
    with ctx.uow() as uow:
        if uow.ledger.account_of(customer_id, account_id) is None:
            raise NotFound("no such account")
        return list(uow.ledger.recent_entries(account_id, limit=limit))


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")
