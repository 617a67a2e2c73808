"""Booking 振込 and 収納サービス on the IB's own ledger: money moved once per request key, never
overdrawn; receipts and statements. On the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kinko.banking import drafts
from kinko.banking.accounts import Account, AccountType
from kinko.banking.drafts import BillPaymentDraft, PaymentKind, TransferDraft
from kinko.banking.errors import InsufficientFunds, RequestKeyReused, UnknownAccount
from kinko.domain.errors import InvalidInput, NotFound
from kinko.domain.model import Customer
from kinko.services import accounts
from kinko.services.payments import prepare_bill_payment, receipt
from kinko.store.ledger import SqlLedger
from tests.banking.conftest import Bank
from tests.banking.forms import bill_form, prepare, to_account, typed

# --- moving the money --------------------------------------------------------------------------


def test_a_transfer_to_another_bank_debits_amount_and_fee_as_two_statement_lines(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare(bank, hanako, **typed(account, amount=10_000))
    done = bank.book(draft, "k-1")
    assert bank.balance(account) == 100_000 - 10_330
    assert bank.lines(account) == [(-10_000, 90_000, "振込 ﾔﾏﾀﾞ ﾀﾛｳ"),
                                   (-330, 89_670, "振込手数料")]
    assert done.kind is PaymentKind.TRANSFER
    assert (done.amount, done.fee, done.total, done.balance_after) == (10_000, 330, 10_330, 89_670)
    assert done.payee == draft.payee and done.bill is None
    assert (done.from_account_id, done.from_branch_name, done.from_account_type,
            done.from_account_number) == (account.id, "本店営業部", AccountType.ORDINARY,
                                          "1234561")
    assert done.created_at == bank.now()


def test_a_transfer_within_our_bank_credits_the_payee_in_the_same_transaction(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=5_000, kana="ｼﾝﾖｳ ﾀﾛｳ")
    draft = prepare(bank, hanako, **typed(account, amount=25_000, **to_account(his)))
    bank.book(draft, "k-1")
    assert bank.balance(account) == 75_000
    assert bank.balance(his) == 30_000
    assert bank.lines(account) == [(-25_000, 75_000, "振込 ｼﾝﾖｳ ﾀﾛｳ")]
    assert bank.lines(his) == [(25_000, 30_000, "振込 ｷﾝｺ ﾊﾅｺ")]


def test_a_transfer_to_an_account_with_a_lower_id_credits_it_too(
    bank: Bank, hanako: Customer
) -> None:
    # The two accounts are locked in id order: here the payee's comes first.
    first = bank.account(hanako, "1111111", balance=0)
    second = bank.account(hanako, "2222222", balance=50_000)
    draft = prepare(bank, hanako, **typed(second, amount=20_000, **to_account(first)))
    done = bank.book(draft, "k-1")
    assert (bank.balance(first), bank.balance(second)) == (20_000, 30_000)
    assert done.balance_after == 30_000


def test_insufficient_funds_at_execution_never_overdraws_and_writes_nothing(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    first = prepare(bank, hanako, **typed(account, amount=60_000))
    second = prepare(bank, hanako, **typed(account, amount=60_000))  # both fit when prepared
    bank.book(first, "k-1")
    lines_before = bank.lines(account)
    with pytest.raises(InsufficientFunds):
        bank.book(second, "k-2")
    assert bank.balance(account) == 100_000 - 60_330
    assert bank.lines(account) == lines_before
    assert bank.transfer_count() == 1
    # A refused request spends nothing, not even its key: once money comes in, it goes through.
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=50_000)
    bank.book(prepare(bank, taro, **typed(his, amount=50_000, **to_account(account))), "k-taro")
    bank.book(second, "k-2")
    assert bank.balance(account) == 100_000 - 60_330 + 50_000 - 60_330


def test_an_intra_bank_transfer_that_cannot_be_covered_credits_nobody(
    bank: Bank, hanako: Customer
) -> None:
    # The payee's account has the lower id, so it is credited before the debit fails.
    payee = bank.account(hanako, "1111111", balance=0)
    payer = bank.account(hanako, "2222222", balance=50_000)
    draft = prepare(bank, hanako, **typed(payer, amount=50_000, **to_account(payee)))
    bank.book(prepare(bank, hanako, **typed(payer, amount=1)), "k-0")
    with pytest.raises(InsufficientFunds):
        bank.book(draft, "k-1")
    assert (bank.balance(payee), bank.balance(payer)) == (0, 50_000 - 331)
    assert bank.lines(payee) == []


def test_the_same_request_key_twice_debits_once_and_returns_the_same_receipt(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare(bank, hanako, **typed(account, amount=10_000))
    first = bank.book(draft, "k-1")
    bank.harness.clock.advance(5)
    again = bank.book(draft, "k-1")
    assert again == first
    assert bank.balance(account) == 89_670
    assert bank.transfer_count() == 1
    assert len(bank.lines(account)) == 2


def test_a_double_submit_that_loses_the_insert_race_returns_the_winners_receipt(
    bank: Bank, hanako: Customer, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = prepare(bank, hanako, **typed(account, amount=10_000))
    first = bank.book(draft, "k-1")
    # As if the other call committed just after this one looked the key up: the insert
    # then hits the unique request key, and the whole attempt (its debit too) rolls back.
    real_lookup = SqlLedger.by_request_key
    calls: list[str] = []

    def late_lookup(ledger: SqlLedger, key: str) -> Any:
        calls.append(key)
        return None if len(calls) == 1 else real_lookup(ledger, key)

    monkeypatch.setattr(SqlLedger, "by_request_key", late_lookup)
    again = bank.book(draft, "k-1")
    assert again == first
    assert len(calls) == 2
    assert bank.balance(account) == 89_670
    assert bank.transfer_count() == 1


def test_a_taken_receipt_number_is_drawn_again(
    bank: Bank, hanako: Customer, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = iter(["T26040100001", "T26040100001", "T26040100002"])
    monkeypatch.setattr(drafts, "new_receipt_number", lambda kind, now: next(numbers))
    draft = prepare(bank, hanako, **typed(account, amount=1_000))
    first = bank.book(draft, "k-1")
    second = bank.book(draft, "k-2")
    assert (first.receipt_number, second.receipt_number) == ("T26040100001", "T26040100002")
    assert bank.balance(account) == 100_000 - 2 * 1_330
    assert bank.transfer_count() == 2


def test_a_request_key_of_another_customer_is_refused(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=500_000)
    bank.book(prepare(bank, hanako, **typed(account)), "k-1")
    with pytest.raises(RequestKeyReused) as caught:
        bank.book(prepare(bank, taro, **typed(his)), "k-1")
    assert "another customer" in str(caught.value)
    assert bank.balance(his) == 500_000


def test_a_request_key_reused_for_a_different_transfer_is_refused(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    bank.book(prepare(bank, hanako, **typed(account, amount=1_000)), "k-1")
    with pytest.raises(RequestKeyReused):
        bank.book(prepare(bank, hanako, **typed(account, amount=2_000)), "k-1")
    assert bank.balance(account) == 100_000 - 1_330


@pytest.mark.parametrize("key", ["", "x" * 65, "キー", "a b\n"])
def test_a_malformed_request_key_is_refused(
    bank: Bank, hanako: Customer, account: Account, key: str
) -> None:
    with pytest.raises(InvalidInput):
        bank.book(prepare(bank, hanako, **typed(account)), key)
    assert bank.transfer_count() == 0


def test_a_draft_whose_fee_is_not_the_fee_is_refused(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare(bank, hanako, **typed(account))
    forged = TransferDraft(draft.customer_id, draft.from_account, draft.payee, draft.amount, 0)
    with pytest.raises(InvalidInput):
        bank.book(forged, "k-1")
    assert bank.balance(account) == 100_000


@pytest.mark.parametrize("amount", [0, -10_000, 10_000_001])
def test_a_draft_with_an_amount_out_of_range_moves_no_money(
    bank: Bank, hanako: Customer, account: Account, amount: int
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=500_000)
    draft = prepare(bank, hanako, **typed(account, **to_account(his)))
    forged = TransferDraft(draft.customer_id, draft.from_account, draft.payee, amount, 0)
    with pytest.raises(InvalidInput):
        bank.book(forged, "k-1")
    assert (bank.balance(account), bank.balance(his)) == (100_000, 500_000)


def test_a_draft_for_someone_elses_account_moves_no_money(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    draft = prepare(bank, hanako, **typed(account))
    forged = TransferDraft(taro.id, draft.from_account, draft.payee, draft.amount, draft.fee)
    with pytest.raises(UnknownAccount):
        bank.book(forged, "k-1")
    assert bank.balance(account) == 100_000
    assert bank.transfer_count() == 0


# --- receipts and statements -------------------------------------------------------------------


def test_receipt_numbers_are_twelve_characters_with_the_date_in_japan(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    bank.harness.clock.now = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)  # 1 April, 5:00 in Japan
    done = bank.book(prepare(bank, hanako, **typed(account)), "k-1")
    bill = bank.book(prepare_bill_payment(bank.ctx, hanako.id, **bill_form(account)), "k-2")
    for number, prefix in ((done.receipt_number, "T"), (bill.receipt_number, "P")):
        assert len(number) == 12
        assert number.startswith(prefix + "260401")
        assert number[7:].isdigit()


def test_a_receipt_can_be_shown_again_but_only_to_its_customer(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    done = bank.book(prepare(bank, hanako, **typed(account)), "k-1")
    # A later payment changes the balance, not the receipt.
    bank.book(prepare(bank, hanako, **typed(account)), "k-2")
    assert receipt(bank.ctx, hanako.id, done.receipt_number) == done
    assert receipt(bank.ctx, hanako.id, done.receipt_number.lower()) == done
    taro = bank.customer("1000000002", name="信用 太郎")
    with pytest.raises(NotFound):
        receipt(bank.ctx, taro.id, done.receipt_number)
    with pytest.raises(NotFound):
        receipt(bank.ctx, hanako.id, "T26040199999")


def test_recent_entries_are_the_newest_first_and_limited(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    receipts = []
    for n in range(1, 4):
        bank.harness.clock.advance(60)
        receipts.append(bank.book(prepare(bank, hanako, **typed(account, amount=n * 1_000)),
                                  f"k-{n}"))
    entries = accounts.recent_entries(bank.ctx, hanako.id, account.id, limit=4)
    assert [(e.amount, e.description) for e in entries] == [
        (-330, "振込手数料"), (-3_000, "振込 ﾔﾏﾀﾞ ﾀﾛｳ"), (-330, "振込手数料"),
        (-2_000, "振込 ﾔﾏﾀﾞ ﾀﾛｳ")]
    assert entries[0].balance_after == bank.balance(account)
    assert [e.receipt_number for e in entries] == [receipts[2].receipt_number] * 2 + [
        receipts[1].receipt_number] * 2
    assert entries[0].created_at == receipts[2].created_at
    assert len(accounts.recent_entries(bank.ctx, hanako.id, account.id)) == 6
    with pytest.raises(ValueError, match="limit"):
        accounts.recent_entries(bank.ctx, hanako.id, account.id, limit=0)


def test_the_statement_balances_add_up_line_by_line(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=0)
    bank.book(prepare(bank, hanako, **typed(account, amount=3_000)), "k-1")
    bank.book(prepare(bank, hanako, **typed(
        account, amount=4_000, **to_account(his))), "k-2")
    bank.book(prepare_bill_payment(
        bank.ctx, hanako.id, **bill_form(account, amount=5_000)), "k-3")
    balance = 100_000
    for amount, balance_after, _ in bank.lines(account):
        balance += amount
        assert balance_after == balance
    assert balance == bank.balance(account) == 100_000 - 3_330 - 4_000 - 5_000


# --- 収納サービス (Pay-easy) ----------------------------------------------------------------


def test_a_bill_payment_debits_the_amount_without_a_fee(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare_bill_payment(bank.ctx, hanako.id, **bill_form(
        account, biller_number="１２３４５", customer_number="0012-3456-78",
        confirmation_number="１２３４５６", amount="8,460"))
    assert isinstance(draft, BillPaymentDraft)
    assert (draft.bill.biller_number, draft.bill.biller_name, draft.bill.customer_number,
            draft.bill.confirmation_number) == ("12345", "きんこ電力", "0012345678", "123456")
    assert (draft.fee, draft.total) == (0, 8_460)
    done = bank.book(draft, "k-1")
    assert done.kind is PaymentKind.BILL_PAYMENT
    assert (done.amount, done.fee, done.balance_after) == (8_460, 0, 91_540)
    assert done.bill == draft.bill and done.payee is None
    assert bank.balance(account) == 91_540
    assert bank.lines(account) == [(-8_460, 91_540, "収納 きんこ電力")]
    assert receipt(bank.ctx, hanako.id, done.receipt_number) == done


def test_a_bill_payment_is_made_once_per_request_key_and_checks_the_balance(
    bank: Bank, hanako: Customer
) -> None:
    small = bank.account(hanako, "1234563", balance=10_000)
    draft = prepare_bill_payment(bank.ctx, hanako.id, **bill_form(small, amount=6_000))
    first = bank.book(draft, "k-1")
    assert bank.book(draft, "k-1") == first
    with pytest.raises(InsufficientFunds):
        bank.book(draft, "k-2")
    with pytest.raises(InsufficientFunds):
        prepare_bill_payment(bank.ctx, hanako.id, **bill_form(small, amount=6_000))
    assert bank.balance(small) == 4_000
    # A transfer with a bill payment's key is a different payment.
    with pytest.raises(RequestKeyReused):
        bank.book(prepare(bank, hanako, **typed(small, amount=100)), "k-1")
