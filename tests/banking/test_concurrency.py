"""Money moved by several requests at the same instant: once per key, never below zero.

Each caller runs in its own thread with its own database connection, released together by
a barrier, as requests reaching several server processes would be.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from kinko.banking.accounts import Account, AccountType
from kinko.banking.drafts import Receipt
from kinko.banking.errors import InsufficientFunds
from kinko.domain.errors import ReplayedCode
from kinko.domain.model import Customer
from kinko.services import payments
from kinko.services.payments import prepare_transfer
from tests.banking.conftest import Bank

pytestmark = pytest.mark.slow

WAIT_SECONDS = 60


def at_once(calls: list[Callable[[], Receipt]]) -> list[Receipt | BaseException]:
    """Run ``calls`` in threads released together; each one's receipt or exception, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Receipt | BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=WAIT_SECONDS)
            outcomes[index] = calls[index]()
        except BaseException as error:  # reported to the test, which decides
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a caller hung"
    return [outcome for outcome in outcomes if outcome is not None]


def form(account: Account, amount: int, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"from_account_id": account.id, "bank_code": "0009",
                              "branch_code": "123", "account_type": AccountType.ORDINARY,
                              "account_number": "7654321", "payee_kana": "ﾔﾏﾀﾞ ﾀﾛｳ",
                              "amount": amount}
    fields.update(changes)
    return fields


def to(payee: Account) -> dict[str, Any]:
    return {"bank_code": "1234", "branch_code": payee.branch_code,
            "account_type": payee.account_type, "account_number": payee.account_number,
            "payee_kana": payee.holder_kana}


def assert_statement_adds_up(bank: Bank, account: Account, opening: int) -> None:
    balance = opening
    for amount, balance_after, _ in bank.lines(account):
        balance += amount
        assert balance_after == balance >= 0
    assert balance == bank.balance(account)


@pytest.mark.parametrize("callers", [2, 4])
def test_a_double_submit_from_several_callers_at_once_debits_once(
    bank: Bank, hanako: Customer, callers: int
) -> None:
    account = bank.account(hanako, "1234561", balance=100_000)
    draft = prepare_transfer(bank.ctx, hanako.id, **form(account, 10_000))
    submit = partial(bank.book, draft, "double-submit")
    outcomes = at_once([submit] * callers)
    receipts = [outcome for outcome in outcomes if isinstance(outcome, Receipt)]
    assert len(receipts) == callers, outcomes
    assert len({receipt.receipt_number for receipt in receipts}) == 1
    assert bank.balance(account) == 100_000 - 10_330
    assert bank.transfer_count() == 1
    assert_statement_adds_up(bank, account, 100_000)


def test_transfers_that_together_exceed_the_balance_never_overdraw(
    bank: Bank, hanako: Customer
) -> None:
    account = bank.account(hanako, "1234561", balance=100_000)
    # Each fits on its own (30,330 with the fee); only three of the six fit together.
    drafts = [prepare_transfer(bank.ctx, hanako.id, **form(account, 30_000))
              for _ in range(6)]
    outcomes = at_once([
        partial(bank.book, draft, f"k-{n}")
        for n, draft in enumerate(drafts)
    ])
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"Receipt": 3, "InsufficientFunds": 3}, outcomes
    assert all(isinstance(o, Receipt | InsufficientFunds) for o in outcomes)
    assert bank.balance(account) == 100_000 - 3 * 30_330
    assert bank.transfer_count() == 3
    assert_statement_adds_up(bank, account, 100_000)


def test_transfers_crossing_between_two_accounts_neither_deadlock_nor_lose_money(
    bank: Bank, hanako: Customer
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    hers = bank.account(hanako, "1234561", balance=50_000)
    his = bank.account(taro, "1234562", balance=50_000, kana="ｼﾝﾖｳ ﾀﾛｳ")
    to_him = prepare_transfer(bank.ctx, hanako.id, **form(hers, 1_000, **to(his)))
    to_her = prepare_transfer(bank.ctx, taro.id, **form(his, 700, **to(hers)))

    def both_ways(worker: int) -> Receipt:
        last = None
        for n in range(5):
            last = bank.book(to_him, f"h-{worker}-{n}")
            last = bank.book(to_her, f"t-{worker}-{n}")
        assert last is not None
        return last

    outcomes = at_once([partial(both_ways, worker) for worker in range(4)])
    assert all(isinstance(outcome, Receipt) for outcome in outcomes), outcomes
    assert bank.balance(hers) == 50_000 - 20 * 1_000 + 20 * 700
    assert bank.balance(his) == 50_000 + 20 * 1_000 - 20 * 700
    assert bank.transfer_count() == 40
    assert_statement_adds_up(bank, hers, 50_000)
    assert_statement_adds_up(bank, his, 50_000)


@pytest.mark.parametrize("callers", [2, 4])
def test_a_confirmation_submitted_several_times_at_once_pays_once(
    bank: Bank, hanako: Customer, callers: int
) -> None:
    account = bank.account(hanako, "1234561", balance=100_000)
    token = bank.harness.enroll(hanako)
    draft = prepare_transfer(bank.ctx, hanako.id, **form(account, 10_000))
    submit = partial(payments.confirm, bank.ctx, hanako.id, draft, bank.harness.code(token),
                     request_key="double-confirm")
    outcomes = at_once([submit] * callers)
    # The code is checked once; a submit that checked it after the winner is told it was
    # used, one that arrived after the booking gets the winner's receipt.
    assert all(isinstance(outcome, Receipt | ReplayedCode) for outcome in outcomes), outcomes
    receipts = [outcome for outcome in outcomes if isinstance(outcome, Receipt)]
    assert len({receipt.receipt_number for receipt in receipts}) == 1
    assert bank.balance(account) == 100_000 - 10_330
    assert bank.transfer_count() == 1
    assert_statement_adds_up(bank, account, 100_000)
