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

from kinko.banking.errors import InsufficientFunds
from kinko.banking.ledger import Account, AccountType
from kinko.banking.transfers import Receipt, execute_transfer, prepare_transfer
from kinko.domain.model import Customer
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


@pytest.fixture
def hanako(bank: Bank) -> Customer:
    return bank.customer("1000000001", name="金庫 花子")


@pytest.mark.parametrize("callers", [2, 4])
def test_a_double_submit_from_several_callers_at_once_debits_once(
    bank: Bank, hanako: Customer, callers: int
) -> None:
    account = bank.account(hanako, "1234561", balance=100_000)
    draft = prepare_transfer(bank.engine, hanako.id, **form(account, 10_000))
    submit = partial(execute_transfer, bank.engine, draft, request_key="double-submit",
                     now=bank.now())
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
    drafts = [prepare_transfer(bank.engine, hanako.id, **form(account, 30_000))
              for _ in range(6)]
    outcomes = at_once([
        partial(execute_transfer, bank.engine, draft, request_key=f"k-{n}", now=bank.now())
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
    to_him = prepare_transfer(bank.engine, hanako.id, **form(hers, 1_000, **to(his)))
    to_her = prepare_transfer(bank.engine, taro.id, **form(his, 700, **to(hers)))

    def both_ways(worker: int) -> Receipt:
        last = None
        for n in range(5):
            last = execute_transfer(bank.engine, to_him, request_key=f"h-{worker}-{n}",
                                    now=bank.now())
            last = execute_transfer(bank.engine, to_her, request_key=f"t-{worker}-{n}",
                                    now=bank.now())
        assert last is not None
        return last

    outcomes = at_once([partial(both_ways, worker) for worker in range(4)])
    assert all(isinstance(outcome, Receipt) for outcome in outcomes), outcomes
    assert bank.balance(hers) == 50_000 - 20 * 1_000 + 20 * 700
    assert bank.balance(his) == 50_000 + 20 * 1_000 - 20 * 700
    assert bank.transfer_count() == 40
    assert_statement_adds_up(bank, hers, 50_000)
    assert_statement_adds_up(bank, his, 50_000)
