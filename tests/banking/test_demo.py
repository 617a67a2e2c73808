"""The demo's statement history: a plausible month that ends at the opening balance."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from kinko.demo import seed_history
from kinko.domain.errors import NotFound
from kinko.domain.model import Customer
from kinko.services import accounts
from tests.banking.conftest import Bank


def test_demo_history_ends_at_the_balance_the_account_opened_with(
    bank: Bank, hanako: Customer
) -> None:
    demo = bank.account(hanako, "1234561", balance=520_000)
    entries = seed_history(bank.ctx, demo)
    assert bank.balance(demo) == 520_000
    assert entries == accounts.recent_entries(bank.ctx, hanako.id, demo.id)
    assert entries[0].balance_after == 520_000
    assert {"給与", "ATM", "収納"} <= {e.description.split()[0] for e in entries}
    for newer, older in itertools.pairwise(entries):
        assert newer.balance_after - newer.amount == older.balance_after
        assert newer.created_at > older.created_at
    assert all(e.created_at < bank.now() for e in entries)
    assert min(e.balance_after - e.amount for e in entries) >= 0


def test_demo_history_leaves_out_what_a_small_balance_could_not_have_carried(
    bank: Bank, hanako: Customer
) -> None:
    poor = bank.account(hanako, "1234561", balance=1_000)
    entries = seed_history(bank.ctx, poor)
    assert all(e.balance_after >= 0 and e.balance_after - e.amount >= 0 for e in entries)
    assert bank.balance(poor) == 1_000


def test_demo_history_is_added_only_once(bank: Bank, hanako: Customer) -> None:
    demo = bank.account(hanako, "1234561", balance=1_250_000)
    assert seed_history(bank.ctx, demo)
    bank.harness.clock.advance(timedelta(days=1).total_seconds())
    assert seed_history(bank.ctx, demo) == []
    with pytest.raises(NotFound):
        seed_history(bank.ctx, replace(demo, id=demo.id + 100))
