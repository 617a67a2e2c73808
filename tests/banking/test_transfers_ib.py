"""Transfers as a real IB has them (issue 15 point 8), on the real store (SQLite and
PostgreSQL): the daily transfer limit held by the booking, raised only with the proof,
registered payees, 受取人名 from our own ledger, the bank table, and a notice per payment."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from functools import partial

import pytest

from kinko.banking.accounts import Account
from kinko.banking.directory import OUR_BANK_CODE, branch_name, search_banks, search_branches
from kinko.banking.errors import FieldErrors, InsufficientFunds, TransferLimitExceeded
from kinko.banking.limits import DEFAULT_DAILY_LIMIT, MAX_DAILY_LIMIT, day_start
from kinko.domain.errors import NotFound, WrongPassword
from kinko.domain.events import Action
from kinko.domain.model import Customer
from kinko.domain.notices import NoticeKind, QueuedNotice, compose
from kinko.domain.secrets import Password
from kinko.services import payees, payments, transfer_limits
from kinko.services.accounts import accounts_of
from kinko.services.transfer_limits import ProofRequired
from tests.banking.conftest import Bank
from tests.banking.forms import bill_form, prepare, to_account, typed
from tests.support import CONFIRMATION_PASSWORD

RIGHT = Password(CONFIRMATION_PASSWORD)


def events(bank: Bank, customer: Customer, action: Action) -> list[str | None]:
    """The reasons of the customer's audit events of ``action``, oldest first."""
    with bank.ctx.uow() as uow:
        found = uow.audit.recent(contract_id=customer.contract_id, limit=1000)
    return [e.reason for e in reversed(found) if e.action is action]


def notices(bank: Bank, customer: Customer) -> list[QueuedNotice]:
    with bank.ctx.uow() as uow:
        return list(uow.outbox.listing(contract_id=customer.contract_id))


@pytest.fixture
def rich(bank: Bank, hanako: Customer) -> Account:
    return bank.account(hanako, "1234569", balance=5_000_000)


# --- the daily transfer limit ----------------------------------------------------------------


def test_the_day_starts_at_midnight_in_japan(bank: Bank) -> None:
    start = day_start(bank.now())  # 2026-04-01 09:00 UTC is 18:00 in Japan
    assert (start.year, start.month, start.day, start.hour) == (2026, 4, 1, 0)
    assert start.utcoffset() == timedelta(hours=9)


def test_transfers_of_one_japan_day_count_together_against_the_default_limit(
    bank: Bank, hanako: Customer, rich: Account
) -> None:
    assert payments.daily_limit(bank.ctx, hanako.id).daily_limit == DEFAULT_DAILY_LIMIT
    bank.book(prepare(bank, hanako, **typed(rich, amount=600_000)), "first")
    left = payments.daily_limit(bank.ctx, hanako.id)
    assert (left.used_today, left.remaining) == (600_000, 400_000)
    # the early warning on the input screen ...
    with pytest.raises(TransferLimitExceeded) as caught:
        prepare(bank, hanako, **typed(rich, amount=400_001))
    assert caught.value.errors == {"amount": "1日あたりの振込限度額を超えています"}
    # ... and the booking itself, for a draft prepared before the first transfer
    bank.set_daily_limit(hanako, 2_000_000)
    late = prepare(bank, hanako, **typed(rich, amount=1_400_000))  # fits, just
    bank.set_daily_limit(hanako, 2_000_000 - 1)
    with pytest.raises(TransferLimitExceeded):
        bank.book(late, "late")
    assert bank.transfer_count() == 1
    bank.book(prepare(bank, hanako, **typed(rich, amount=400_000)), "fits")


def test_bill_payments_do_not_count_and_a_new_japan_day_starts_afresh(
    bank: Bank, hanako: Customer, rich: Account
) -> None:
    bank.book(prepare(bank, hanako, **typed(rich, amount=DEFAULT_DAILY_LIMIT)), "all")
    bill = payments.prepare_bill_payment(bank.ctx, hanako.id, **bill_form(rich))
    bank.book(bill, "bill")  # Pay-easy has no part in 振込限度額
    with pytest.raises(TransferLimitExceeded):
        prepare(bank, hanako, **typed(rich, amount=1))
    bank.harness.clock.advance(6 * 3600 - 1)  # 23:59:59 in Japan
    with pytest.raises(TransferLimitExceeded):
        prepare(bank, hanako, **typed(rich, amount=1))
    bank.harness.clock.advance(1)  # midnight in Japan
    bank.book(prepare(bank, hanako, **typed(rich, amount=DEFAULT_DAILY_LIMIT)), "next-day")


def test_a_customer_lowers_the_limit_freely_and_raises_it_only_with_the_proof(
    bank: Bank, hanako: Customer, rich: Account
) -> None:
    lowered = transfer_limits.change_daily_limit(bank.ctx, hanako.id, "５０,０００円")
    assert lowered.daily_limit == 50_000
    with pytest.raises(TransferLimitExceeded):
        prepare(bank, hanako, **typed(rich, amount=50_001))
    with pytest.raises(ProofRequired):
        transfer_limits.change_daily_limit(bank.ctx, hanako.id, "3,000,000")
    with pytest.raises(WrongPassword):
        transfer_limits.change_daily_limit(bank.ctx, hanako.id, "3,000,000",
                                           Password("wrong-password"))
    assert payments.daily_limit(bank.ctx, hanako.id).daily_limit == 50_000
    raised = transfer_limits.change_daily_limit(bank.ctx, hanako.id, "3,000,000", RIGHT)
    assert raised.daily_limit == 3_000_000
    prepare(bank, hanako, **typed(rich, amount=2_500_000))
    # the customer is told of each change, with the new limit
    changes = [n for n in notices(bank, hanako)
               if n.notice.kind is NoticeKind.TRANSFER_LIMIT_CHANGED]
    assert [n.notice.facts for n in changes] == [
        ("変更後の振込限度額（1日あたり）：3,000,000円",),
        ("変更後の振込限度額（1日あたり）：50,000円",)]
    # and each change is in the audit trail, the refused raises are not
    assert events(bank, hanako, Action.TRANSFER_LIMIT_CHANGED) == [
        f"{DEFAULT_DAILY_LIMIT}->50000", "50000->3000000"]


@pytest.mark.parametrize("typed_limit", ["", "abc", "-1", f"{MAX_DAILY_LIMIT + 1}"])
def test_a_limit_out_of_range_is_refused_with_a_message_for_the_field(
    bank: Bank, hanako: Customer, typed_limit: str
) -> None:
    with pytest.raises(FieldErrors) as caught:
        transfer_limits.change_daily_limit(bank.ctx, hanako.id, typed_limit, RIGHT)
    assert set(caught.value.errors) == {"daily_limit"}


@pytest.mark.postgresql_only
def test_two_transfers_at_once_that_together_pass_the_limit_one_is_refused(
    bank: Bank, hanako: Customer, rich: Account, backend: str
) -> None:
    from tests.banking.test_concurrency import at_once

    # Each fits on its own; together they pass the (default) limit. The first booking of
    # the customer also creates the limit row: both paths are raced.
    for round_, set_first in enumerate((False, True)):
        if set_first:
            bank.harness.clock.advance(24 * 3600)
            bank.set_daily_limit(hanako, 1_000_000)
        drafts = [prepare(bank, hanako, **typed(rich, amount=600_000)) for _ in range(2)]
        outcomes = at_once([partial(bank.book, draft, f"r{round_}-{n}")
                            for n, draft in enumerate(drafts)])
        kinds = Counter(type(outcome).__name__ for outcome in outcomes)
        assert kinds == {"Receipt": 1, "TransferLimitExceeded": 1}, outcomes
    assert bank.transfer_count() == 2
    assert bank.balance(rich) == 5_000_000 - 2 * 600_330


# --- 受取人名 from our own ledger ----------------------------------------------------------------


def test_a_payee_at_our_bank_is_named_from_the_account_not_typed(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=0, kana="ｼﾝﾖｳ ﾀﾛｳ")
    untyped = prepare(bank, hanako, **typed(account, **to_account(his, payee_kana="")))
    assert untyped.payee.kana == "ｼﾝﾖｳ ﾀﾛｳ"
    mistyped = prepare(bank, hanako, **typed(account, **to_account(his, payee_kana="ﾔﾏﾀﾞ")))
    assert mistyped.payee.kana == "ｼﾝﾖｳ ﾀﾛｳ"  # what the customer confirms is the holder
    with pytest.raises(FieldErrors) as caught:  # another bank's payee must be named
        prepare(bank, hanako, **typed(account, payee_kana=""))
    assert set(caught.value.errors) == {"payee_kana"}


# --- registered payees -------------------------------------------------------------------------


def test_a_payee_is_saved_from_a_transfer_once_listed_and_deleted(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    done = bank.book(prepare(bank, hanako, **typed(account)), "k1")
    again = bank.book(prepare(bank, hanako, **typed(account, amount=500)), "k2")
    saved = payees.save_from_receipt(bank.ctx, hanako.id, done.receipt_number.lower())
    assert payees.save_from_receipt(bank.ctx, hanako.id, again.receipt_number) == saved
    assert saved.payee == done.payee
    assert saved.form_values()["account_number"] == "7654321"
    assert payees.payees_of(bank.ctx, hanako.id) == [saved]
    payees.delete(bank.ctx, hanako.id, saved.id)
    assert payees.payees_of(bank.ctx, hanako.id) == []
    with pytest.raises(NotFound):
        payees.delete(bank.ctx, hanako.id, saved.id)
    # one event for the one saving (the second found it saved), one for the deletion;
    # the account is masked, the holder's name is not recorded
    where = f"{saved.payee.bank_code}-{saved.payee.branch_code} ****321"
    assert events(bank, hanako, Action.PAYEE_SAVED) == [where]
    assert events(bank, hanako, Action.PAYEE_DELETED) == [where]


def test_a_customer_neither_saves_from_nor_sees_nor_deletes_another_customers_payees(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    done = bank.book(prepare(bank, hanako, **typed(account)), "k1")
    with pytest.raises(NotFound):
        payees.save_from_receipt(bank.ctx, taro.id, done.receipt_number)
    saved = payees.save_from_receipt(bank.ctx, hanako.id, done.receipt_number)
    assert payees.payees_of(bank.ctx, taro.id) == []
    with pytest.raises(NotFound):
        payees.payee(bank.ctx, taro.id, saved.id)
    with pytest.raises(NotFound):
        payees.delete(bank.ctx, taro.id, saved.id)
    assert payees.payees_of(bank.ctx, hanako.id) == [saved]


def test_a_bill_payment_has_no_payee_to_save(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    paid = bank.book(payments.prepare_bill_payment(bank.ctx, hanako.id, **bill_form(account)),
                     "bill")
    with pytest.raises(NotFound):
        payees.save_from_receipt(bank.ctx, hanako.id, paid.receipt_number)


# --- the bank table --------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "codes"), [
    ("みずほ", ["0001"]), ("ミツイ", ["0009"]), ("ﾘｿﾅ", ["0010"]),
    ("０００", ["0001", "0005", "0009"]),
    ("12ー3", ["1234", "1235"]), ("信用金庫", [OUR_BANK_CODE, "1235"]), ("", None),
    ("存在しない銀行", []),
])
def test_banks_are_found_by_name_reading_or_code(query: str, codes: list[str] | None) -> None:
    found = [b.code for b in search_banks(query)]
    assert found == codes if codes is not None else len(found) >= 6


def test_branches_are_found_within_their_bank() -> None:
    assert [b.code for b in search_branches(OUR_BANK_CODE, "えきまえ")] == ["002"]
    assert [b.code for b in search_branches(OUR_BANK_CODE, "00")] == ["001", "002", "003"]
    assert search_branches("9999", "") == []
    assert branch_name("0009", "123") == "東京中央支店"
    assert branch_name("0009", "999") is None


# --- a notice for every payment ---------------------------------------------------------------


def test_every_transfer_and_bill_payment_queues_a_notice_with_its_facts_masked(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    done = bank.book(prepare(bank, hanako, **typed(account)), "t")
    paid = bank.book(payments.prepare_bill_payment(bank.ctx, hanako.id, **bill_form(account)),
                     "b")
    queued = {n.notice.kind: n for n in notices(bank, hanako)}
    transfer = queued[NoticeKind.TRANSFER_ACCEPTED]
    assert transfer.recipient == hanako.email
    assert transfer.notice.facts == (
        f"受付番号：{done.receipt_number}",
        "振込先：三井住友銀行 東京中央支店 普通 ****321",
        "受取人名：ﾔﾏﾀﾞ ﾀﾛｳ",
        "振込金額：10,000円",
        "振込手数料：330円",
        "支払口座：本店営業部 普通 ****561",
    )
    mail = compose(transfer.notice, recipient_name=hanako.name, bank_name="きんこ信用金庫")
    assert mail.subject == "【きんこ信用金庫】お振込受付のお知らせ"
    assert f"受付番号：{done.receipt_number}" in mail.body
    assert "7654321" not in mail.body and "1234561" not in mail.body
    bill = queued[NoticeKind.BILL_PAYMENT_ACCEPTED]
    assert bill.notice.facts[0] == f"受付番号：{paid.receipt_number}"


def test_a_refused_payment_queues_no_notice(bank: Bank, hanako: Customer) -> None:
    small = bank.account(hanako, "1234563", balance=20_000)
    draft = prepare(bank, hanako, **typed(small, amount=10_000))
    bank.book(prepare(bank, hanako, **typed(small, amount=10_000)), "first")
    with pytest.raises(InsufficientFunds):
        bank.book(draft, "second")
    kinds = [n.notice.kind for n in notices(bank, hanako)]
    assert kinds == [NoticeKind.TRANSFER_ACCEPTED]


def test_the_demo_customers_have_registered_payees_one_named_from_the_ledger(
    bank: Bank,
) -> None:
    from kinko import demo

    lines = demo.load(bank.harness.kinko)
    with bank.ctx.uow() as uow:
        first = uow.customers.by_contract_id(lines[0].customer.contract_id)
    assert first is not None
    saved = payees.payees_of(bank.ctx, first.id)
    assert [s.payee.bank_code for s in saved] == [OUR_BANK_CODE, "0009"]
    (source,) = accounts_of(bank.ctx, first.id)
    draft = payments.prepare_transfer(bank.ctx, first.id, from_account_id=source.id,
                                      amount=1_000, **{**saved[0].form_values(),
                                                       "payee_kana": ""})
    assert draft.payee.kana == demo.DEMO_CUSTOMERS[1].kana
