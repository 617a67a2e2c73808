"""振込 and 収納サービス on the IB's own ledger, on the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kinko.banking import transfers
from kinko.banking.errors import (
    FieldErrors,
    InsufficientFunds,
    RequestKeyReused,
    SameAccount,
    UnknownAccount,
    UnknownBiller,
    UnknownPayee,
)
from kinko.banking.ledger import Account, AccountType
from kinko.banking.transfers import (
    OTHER_BANK_FEE,
    OUR_BANK_CODE,
    BillPaymentDraft,
    PaymentKind,
    TransferDraft,
    execute_bill_payment,
    execute_transfer,
    prepare_bill_payment,
    prepare_transfer,
    receipt,
    recent_entries,
    seed_demo_history,
    transfer_fee,
)
from kinko.domain.errors import InvalidInput, NotFound
from kinko.domain.model import Customer
from tests.banking.conftest import Bank

OTHER_BANK = "0009"  # 三井住友銀行

# --- helpers -------------------------------------------------------------------------------------


def typed(account: Account, **changes: Any) -> dict[str, Any]:
    """A transfer form filled in correctly (to another bank), with ``changes`` applied."""
    form: dict[str, Any] = {
        "from_account_id": account.id,
        "bank_code": OTHER_BANK,
        "branch_code": "123",
        "account_type": AccountType.ORDINARY,
        "account_number": "7654321",
        "payee_kana": "ﾔﾏﾀﾞ ﾀﾛｳ",
        "amount": 10_000,
    }
    form.update(changes)
    return form


def to_account(payee: Account, **changes: Any) -> dict[str, Any]:
    """Form fields naming ``payee`` at our bank."""
    fields: dict[str, Any] = {"bank_code": OUR_BANK_CODE, "branch_code": payee.branch_code,
                              "account_type": payee.account_type,
                              "account_number": payee.account_number,
                              "payee_kana": payee.holder_kana}
    fields.update(changes)
    return fields


def bill_form(account: Account, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"from_account_id": account.id, "biller_number": "12345",
                            "customer_number": "0012345678", "confirmation_number": "123456",
                            "amount": 8_460}
    form.update(changes)
    return form


def prepare(bank: Bank, customer: Customer, **form: Any) -> TransferDraft:
    return prepare_transfer(bank.engine, customer.id, **form)


@pytest.fixture
def hanako(bank: Bank) -> Customer:
    return bank.customer("1000000001", name="金庫 花子")


@pytest.fixture
def account(bank: Bank, hanako: Customer) -> Account:
    return bank.account(hanako, "1234561", balance=100_000)


# --- what the customer types -----------------------------------------------------------------


def test_every_malformed_field_is_reported_at_once_with_a_message_for_the_screen(
    bank: Bank, hanako: Customer
) -> None:
    with pytest.raises(FieldErrors) as caught:
        prepare_transfer(bank.engine, hanako.id, from_account_id="口座", bank_code="12",
                         branch_code="12a", account_type="外貨", account_number="123456",
                         payee_kana="金庫花子", amount="0")
    errors = caught.value.errors
    assert errors == {
        "from_account_id": "出金口座を選択してください",
        "bank_code": "金融機関コードは4桁の数字で入力してください",
        "branch_code": "支店コードは3桁の数字で入力してください",
        "account_type": "預金種目を選択してください",
        "account_number": "口座番号は7桁の数字で入力してください",
        "payee_kana": "受取人名はカナ・英大文字・数字・記号（）．－／で入力してください",
        "amount": "金額は1円以上10,000,000円以下で入力してください",
    }
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.code == "invalid_fields"
    # The English message names the fields, never what was typed.
    assert "account_number" in str(caught.value)
    assert "123456" not in str(caught.value) and "金庫花子" not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bank_code", "00091", "金融機関コードは4桁の数字で入力してください"),
        ("bank_code", "", "金融機関コードは4桁の数字で入力してください"),
        ("branch_code", "1234", "支店コードは3桁の数字で入力してください"),
        ("account_number", "12345678", "口座番号は7桁の数字で入力してください"),
        ("account_number", "123456x", "口座番号は7桁の数字で入力してください"),
        ("account_number", "１２３４５６", "口座番号は7桁の数字で入力してください"),
        ("account_type", "checking", "預金種目を選択してください"),
        ("payee_kana", "", "受取人名を入力してください"),
        ("payee_kana", "\u3000 ", "受取人名を入力してください"),
        ("payee_kana", "ｱ" * 31, "受取人名は半角30文字以内で入力してください"),
        ("payee_kana", "ガ" * 16, "受取人名は半角30文字以内で入力してください"),
        ("amount", "", "金額を入力してください"),
        ("amount", "abc", "金額は数字で入力してください"),
        ("amount", "1.5", "金額は数字で入力してください"),
        ("amount", "-5", "金額は数字で入力してください"),
        ("amount", True, "金額は数字で入力してください"),
        ("amount", 0, "金額は1円以上10,000,000円以下で入力してください"),
        ("amount", "10,000,001", "金額は1円以上10,000,000円以下で入力してください"),
        ("from_account_id", "", "出金口座を選択してください"),
    ],
)
def test_a_malformed_field_is_named_with_its_message(
    bank: Bank, hanako: Customer, account: Account, field: str, value: object, message: str
) -> None:
    with pytest.raises(FieldErrors) as caught:
        prepare(bank, hanako, **typed(account, **{field: value}))
    assert caught.value.errors == {field: message}


def test_full_width_digits_separators_and_kana_are_accepted(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare(bank, hanako, **typed(
        account, from_account_id=f"{account.id}", bank_code="０００９", branch_code="１２３",
        account_type="普通", account_number="１２３－４５６７", payee_kana="ヤマダ　タロウ",
        amount="１２，０００"))
    assert draft.payee.bank_code == "0009"
    assert draft.payee.bank_name == "三井住友銀行"
    assert draft.payee.branch_code == "123"
    assert draft.payee.account_type is AccountType.ORDINARY
    assert draft.payee.account_number == "1234567"
    assert draft.payee.kana == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert draft.amount == 12_000
    assert draft.from_account == account


@pytest.mark.parametrize("amount", [12000, "12000", "12,000", "１２，０００", "１２０００",
                                    "12,000円", "¥12,000", "￥１２，０００", " 12 000 "])
def test_amounts_are_read_as_customers_write_them(
    bank: Bank, hanako: Customer, account: Account, amount: int | str
) -> None:
    assert prepare(bank, hanako, **typed(account, amount=amount)).amount == 12_000


@pytest.mark.parametrize("amount", [1, "10,000,000"])
def test_amounts_from_one_yen_to_ten_million_yen_are_allowed(
    bank: Bank, hanako: Customer, amount: int | str
) -> None:
    rich = bank.account(hanako, "1234569", balance=20_000_000)
    assert prepare(bank, hanako, **typed(rich, amount=amount)).amount in (1, 10_000_000)


@pytest.mark.parametrize(("typed_type", "expected"), [
    (AccountType.CURRENT, AccountType.CURRENT),
    ("current", AccountType.CURRENT),
    ("当座", AccountType.CURRENT),
    ("貯蓄", AccountType.SAVINGS),
    ("普通", AccountType.ORDINARY),
])
def test_the_account_type_is_the_enum_its_value_or_its_japanese_label(
    bank: Bank, hanako: Customer, account: Account, typed_type: object, expected: AccountType
) -> None:
    draft = prepare(bank, hanako, **typed(account, account_type=typed_type))
    assert draft.payee.account_type is expected


def test_a_bank_we_do_not_transfer_to_is_refused_naming_the_bank_code(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    with pytest.raises(UnknownPayee) as caught:
        prepare(bank, hanako, **typed(account, bank_code="9999"))
    assert caught.value.code == "unknown_payee"
    assert set(caught.value.errors) == {"bank_code"}


def test_a_transfer_from_another_customers_account_is_refused(
    bank: Bank, hanako: Customer
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=500_000)
    with pytest.raises(UnknownAccount) as caught:
        prepare(bank, hanako, **typed(his))
    assert caught.value.errors == {"from_account_id": "出金口座を選択してください"}


def test_an_account_cannot_transfer_into_itself(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    with pytest.raises(SameAccount) as caught:
        prepare(bank, hanako, **typed(account, **to_account(account)))
    assert set(caught.value.errors) == {"account_number"}


def test_a_transfer_to_a_missing_account_at_our_bank_is_refused(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    with pytest.raises(UnknownPayee) as caught:
        prepare(bank, hanako, **typed(account, bank_code=OUR_BANK_CODE, account_number="9999999"))
    assert caught.value.errors == {"account_number": "お振込先の口座が見つかりません"}


def test_a_transfer_between_two_accounts_of_one_customer_is_allowed(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    savings = bank.account(hanako, "7000001", balance=0, account_type=AccountType.SAVINGS)
    draft = prepare(bank, hanako, **typed(account, **to_account(savings)))
    assert draft.fee == 0


# --- fees and the early balance check --------------------------------------------------------


@pytest.mark.parametrize("amount", [1, 29_999, 30_000, 10_000_000])
def test_transfers_within_our_bank_are_free_and_to_other_banks_cost_330_yen(amount: int) -> None:
    assert transfer_fee(OUR_BANK_CODE, amount) == 0
    assert transfer_fee("0001", amount) == transfer_fee("1235", amount) == OTHER_BANK_FEE == 330


def test_the_draft_carries_the_fee_and_the_total(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare(bank, hanako, **typed(account, amount=10_000))
    assert (draft.fee, draft.total) == (330, 10_330)


def test_prepare_warns_early_when_the_balance_does_not_cover_amount_and_fee(
    bank: Bank, hanako: Customer
) -> None:
    small = bank.account(hanako, "1234563", balance=10_000)
    assert prepare(bank, hanako, **typed(small, amount=9_670)).total == 10_000
    with pytest.raises(InsufficientFunds) as caught:
        prepare(bank, hanako, **typed(small, amount=9_671))
    assert caught.value.code == "insufficient_funds"
    assert caught.value.errors == {"amount": "残高が不足しています"}


# --- moving the money --------------------------------------------------------------------------


def test_a_transfer_to_another_bank_debits_amount_and_fee_as_two_statement_lines(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare(bank, hanako, **typed(account, amount=10_000))
    done = execute_transfer(bank.engine, draft, request_key="k-1", now=bank.now())
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
    execute_transfer(bank.engine, draft, request_key="k-1", now=bank.now())
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
    done = execute_transfer(bank.engine, draft, request_key="k-1", now=bank.now())
    assert (bank.balance(first), bank.balance(second)) == (20_000, 30_000)
    assert done.balance_after == 30_000


def test_insufficient_funds_at_execution_never_overdraws_and_writes_nothing(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    first = prepare(bank, hanako, **typed(account, amount=60_000))
    second = prepare(bank, hanako, **typed(account, amount=60_000))  # both fit when prepared
    execute_transfer(bank.engine, first, request_key="k-1", now=bank.now())
    lines_before = bank.lines(account)
    with pytest.raises(InsufficientFunds):
        execute_transfer(bank.engine, second, request_key="k-2", now=bank.now())
    assert bank.balance(account) == 100_000 - 60_330
    assert bank.lines(account) == lines_before
    assert bank.transfer_count() == 1
    # A refused request spends nothing, not even its key: once money comes in, it goes through.
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=50_000)
    execute_transfer(bank.engine, prepare(bank, taro, **typed(his, amount=50_000,
                                                              **to_account(account))),
                     request_key="k-taro", now=bank.now())
    execute_transfer(bank.engine, second, request_key="k-2", now=bank.now())
    assert bank.balance(account) == 100_000 - 60_330 + 50_000 - 60_330


def test_an_intra_bank_transfer_that_cannot_be_covered_credits_nobody(
    bank: Bank, hanako: Customer
) -> None:
    # The payee's account has the lower id, so it is credited before the debit fails.
    payee = bank.account(hanako, "1111111", balance=0)
    payer = bank.account(hanako, "2222222", balance=50_000)
    draft = prepare(bank, hanako, **typed(payer, amount=50_000, **to_account(payee)))
    execute_transfer(bank.engine, prepare(bank, hanako, **typed(payer, amount=1)),
                     request_key="k-0", now=bank.now())
    with pytest.raises(InsufficientFunds):
        execute_transfer(bank.engine, draft, request_key="k-1", now=bank.now())
    assert (bank.balance(payee), bank.balance(payer)) == (0, 50_000 - 331)
    assert bank.lines(payee) == []


def test_the_same_request_key_twice_debits_once_and_returns_the_same_receipt(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare(bank, hanako, **typed(account, amount=10_000))
    first = execute_transfer(bank.engine, draft, request_key="k-1", now=bank.now())
    bank.harness.clock.advance(5)
    again = execute_transfer(bank.engine, draft, request_key="k-1", now=bank.now())
    assert again == first
    assert bank.balance(account) == 89_670
    assert bank.transfer_count() == 1
    assert len(bank.lines(account)) == 2


def test_a_double_submit_that_loses_the_insert_race_returns_the_winners_receipt(
    bank: Bank, hanako: Customer, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = prepare(bank, hanako, **typed(account, amount=10_000))
    first = execute_transfer(bank.engine, draft, request_key="k-1", now=bank.now())
    # As if the other call committed just after this one looked the key up: the insert
    # then hits the unique request key, and the whole attempt (its debit too) rolls back.
    real_lookup = transfers._by_request_key
    calls: list[str] = []

    def late_lookup(session: Any, key: str) -> Any:
        calls.append(key)
        return None if len(calls) == 1 else real_lookup(session, key)

    monkeypatch.setattr(transfers, "_by_request_key", late_lookup)
    again = execute_transfer(bank.engine, draft, request_key="k-1", now=bank.now())
    assert again == first
    assert len(calls) == 2
    assert bank.balance(account) == 89_670
    assert bank.transfer_count() == 1


def test_a_taken_receipt_number_is_drawn_again(
    bank: Bank, hanako: Customer, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = iter(["T26040100001", "T26040100001", "T26040100002"])
    monkeypatch.setattr(transfers, "_new_receipt_number", lambda kind, now: next(numbers))
    draft = prepare(bank, hanako, **typed(account, amount=1_000))
    first = execute_transfer(bank.engine, draft, request_key="k-1", now=bank.now())
    second = execute_transfer(bank.engine, draft, request_key="k-2", now=bank.now())
    assert (first.receipt_number, second.receipt_number) == ("T26040100001", "T26040100002")
    assert bank.balance(account) == 100_000 - 2 * 1_330
    assert bank.transfer_count() == 2


def test_a_request_key_of_another_customer_is_refused(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=500_000)
    execute_transfer(bank.engine, prepare(bank, hanako, **typed(account)), request_key="k-1",
                     now=bank.now())
    with pytest.raises(RequestKeyReused) as caught:
        execute_transfer(bank.engine, prepare(bank, taro, **typed(his)), request_key="k-1",
                         now=bank.now())
    assert "another customer" in str(caught.value)
    assert bank.balance(his) == 500_000


def test_a_request_key_reused_for_a_different_transfer_is_refused(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    execute_transfer(bank.engine, prepare(bank, hanako, **typed(account, amount=1_000)),
                     request_key="k-1", now=bank.now())
    with pytest.raises(RequestKeyReused):
        execute_transfer(bank.engine, prepare(bank, hanako, **typed(account, amount=2_000)),
                         request_key="k-1", now=bank.now())
    assert bank.balance(account) == 100_000 - 1_330


@pytest.mark.parametrize("key", ["", "x" * 65, "キー", "a b\n"])
def test_a_malformed_request_key_is_refused(
    bank: Bank, hanako: Customer, account: Account, key: str
) -> None:
    with pytest.raises(InvalidInput):
        execute_transfer(bank.engine, prepare(bank, hanako, **typed(account)),
                         request_key=key, now=bank.now())
    assert bank.transfer_count() == 0


def test_a_draft_whose_fee_is_not_the_fee_is_refused(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare(bank, hanako, **typed(account))
    forged = TransferDraft(draft.customer_id, draft.from_account, draft.payee, draft.amount, 0)
    with pytest.raises(InvalidInput):
        execute_transfer(bank.engine, forged, request_key="k-1", now=bank.now())
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
        execute_transfer(bank.engine, forged, request_key="k-1", now=bank.now())
    assert (bank.balance(account), bank.balance(his)) == (100_000, 500_000)


def test_a_draft_for_someone_elses_account_moves_no_money(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    draft = prepare(bank, hanako, **typed(account))
    forged = TransferDraft(taro.id, draft.from_account, draft.payee, draft.amount, draft.fee)
    with pytest.raises(UnknownAccount):
        execute_transfer(bank.engine, forged, request_key="k-1", now=bank.now())
    assert bank.balance(account) == 100_000
    assert bank.transfer_count() == 0


# --- receipts and statements -------------------------------------------------------------------


def test_receipt_numbers_are_twelve_characters_with_the_date_in_japan(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    late_evening_utc = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)  # 1 April, 5:00 in Japan
    done = execute_transfer(bank.engine, prepare(bank, hanako, **typed(account)),
                            request_key="k-1", now=late_evening_utc)
    bill = execute_bill_payment(bank.engine, prepare_bill_payment(
        bank.engine, hanako.id, **bill_form(account)), request_key="k-2", now=late_evening_utc)
    for number, prefix in ((done.receipt_number, "T"), (bill.receipt_number, "P")):
        assert len(number) == 12
        assert number.startswith(prefix + "260401")
        assert number[7:].isdigit()


def test_a_receipt_can_be_shown_again_but_only_to_its_customer(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    done = execute_transfer(bank.engine, prepare(bank, hanako, **typed(account)),
                            request_key="k-1", now=bank.now())
    # A later payment changes the balance, not the receipt.
    execute_transfer(bank.engine, prepare(bank, hanako, **typed(account)), request_key="k-2",
                     now=bank.now())
    assert receipt(bank.engine, hanako.id, done.receipt_number) == done
    assert receipt(bank.engine, hanako.id, done.receipt_number.lower()) == done
    taro = bank.customer("1000000002", name="信用 太郎")
    with pytest.raises(NotFound):
        receipt(bank.engine, taro.id, done.receipt_number)
    with pytest.raises(NotFound):
        receipt(bank.engine, hanako.id, "T26040199999")


def test_recent_entries_are_the_newest_first_and_limited(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    receipts = []
    for n in range(1, 4):
        bank.harness.clock.advance(60)
        receipts.append(execute_transfer(
            bank.engine, prepare(bank, hanako, **typed(account, amount=n * 1_000)),
            request_key=f"k-{n}", now=bank.now()))
    entries = recent_entries(bank.engine, account.id, limit=4)
    assert [(e.amount, e.description) for e in entries] == [
        (-330, "振込手数料"), (-3_000, "振込 ﾔﾏﾀﾞ ﾀﾛｳ"), (-330, "振込手数料"),
        (-2_000, "振込 ﾔﾏﾀﾞ ﾀﾛｳ")]
    assert entries[0].balance_after == bank.balance(account)
    assert [e.receipt_number for e in entries] == [receipts[2].receipt_number] * 2 + [
        receipts[1].receipt_number] * 2
    assert entries[0].created_at == receipts[2].created_at
    assert len(recent_entries(bank.engine, account.id)) == 6
    with pytest.raises(ValueError, match="limit"):
        recent_entries(bank.engine, account.id, limit=0)


def test_the_statement_balances_add_up_line_by_line(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    his = bank.account(taro, "1234562", balance=0)
    execute_transfer(bank.engine, prepare(bank, hanako, **typed(account, amount=3_000)),
                     request_key="k-1", now=bank.now())
    execute_transfer(bank.engine, prepare(bank, hanako, **typed(
        account, amount=4_000, **to_account(his))), request_key="k-2", now=bank.now())
    execute_bill_payment(bank.engine, prepare_bill_payment(
        bank.engine, hanako.id, **bill_form(account, amount=5_000)), request_key="k-3",
        now=bank.now())
    balance = 100_000
    for amount, balance_after, _ in bank.lines(account):
        balance += amount
        assert balance_after == balance
    assert balance == bank.balance(account) == 100_000 - 3_330 - 4_000 - 5_000


# --- 収納サービス (Pay-easy) ----------------------------------------------------------------


def test_a_bill_payment_debits_the_amount_without_a_fee(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare_bill_payment(bank.engine, hanako.id, **bill_form(
        account, biller_number="１２３４５", customer_number="0012-3456-78",
        confirmation_number="１２３４５６", amount="8,460"))
    assert isinstance(draft, BillPaymentDraft)
    assert (draft.bill.biller_number, draft.bill.biller_name, draft.bill.customer_number,
            draft.bill.confirmation_number) == ("12345", "きんこ電力", "0012345678", "123456")
    assert (draft.fee, draft.total) == (0, 8_460)
    done = execute_bill_payment(bank.engine, draft, request_key="k-1", now=bank.now())
    assert done.kind is PaymentKind.BILL_PAYMENT
    assert (done.amount, done.fee, done.balance_after) == (8_460, 0, 91_540)
    assert done.bill == draft.bill and done.payee is None
    assert bank.balance(account) == 91_540
    assert bank.lines(account) == [(-8_460, 91_540, "収納 きんこ電力")]
    assert receipt(bank.engine, hanako.id, done.receipt_number) == done


def test_an_unknown_biller_is_refused_naming_the_biller_number(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    with pytest.raises(UnknownBiller) as caught:
        prepare_bill_payment(bank.engine, hanako.id, **bill_form(account, biller_number="99999"))
    assert caught.value.code == "unknown_biller"
    assert caught.value.errors == {"biller_number": "この収納機関番号はお取り扱いできません"}


def test_bill_payment_fields_are_all_checked_at_once(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    with pytest.raises(FieldErrors) as caught:
        prepare_bill_payment(bank.engine, hanako.id, from_account_id=account.id,
                             biller_number="1234", customer_number="1" * 21,
                             confirmation_number="", amount="")
    assert caught.value.errors == {
        "biller_number": "収納機関番号は5桁の数字で入力してください",
        "customer_number": "お客様番号は20桁以内の数字で入力してください",
        "confirmation_number": "確認番号は16桁以内の数字で入力してください",
        "amount": "金額を入力してください",
    }


def test_bill_numbers_as_long_as_allowed_are_accepted(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare_bill_payment(bank.engine, hanako.id, **bill_form(
        account, customer_number="1" * 20, confirmation_number="2" * 16))
    assert (draft.bill.customer_number, draft.bill.confirmation_number) == ("1" * 20, "2" * 16)


def test_a_bill_payment_is_made_once_per_request_key_and_checks_the_balance(
    bank: Bank, hanako: Customer
) -> None:
    small = bank.account(hanako, "1234563", balance=10_000)
    draft = prepare_bill_payment(bank.engine, hanako.id, **bill_form(small, amount=6_000))
    first = execute_bill_payment(bank.engine, draft, request_key="k-1", now=bank.now())
    assert execute_bill_payment(bank.engine, draft, request_key="k-1", now=bank.now()) == first
    with pytest.raises(InsufficientFunds):
        execute_bill_payment(bank.engine, draft, request_key="k-2", now=bank.now())
    with pytest.raises(InsufficientFunds):
        prepare_bill_payment(bank.engine, hanako.id, **bill_form(small, amount=6_000))
    assert bank.balance(small) == 4_000
    # A transfer with a bill payment's key is a different payment.
    with pytest.raises(RequestKeyReused):
        execute_transfer(bank.engine, prepare(bank, hanako, **typed(small, amount=100)),
                         request_key="k-1", now=bank.now())


# --- demo history --------------------------------------------------------------------------------


def test_demo_history_ends_at_the_balance_the_account_opened_with(
    bank: Bank, hanako: Customer
) -> None:
    demo = bank.account(hanako, "1234561", balance=520_000)
    entries = seed_demo_history(bank.engine, demo.id, bank.now())
    assert bank.balance(demo) == 520_000
    assert entries == recent_entries(bank.engine, demo.id)
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
    entries = seed_demo_history(bank.engine, poor.id, bank.now())
    assert all(e.balance_after >= 0 and e.balance_after - e.amount >= 0 for e in entries)
    assert bank.balance(poor) == 1_000


def test_demo_history_is_added_only_once(bank: Bank, hanako: Customer) -> None:
    demo = bank.account(hanako, "1234561", balance=1_250_000)
    assert seed_demo_history(bank.engine, demo.id, bank.now())
    assert seed_demo_history(bank.engine, demo.id, bank.now() + timedelta(days=1)) == []
    with pytest.raises(NotFound):
        seed_demo_history(bank.engine, demo.id + 100, bank.now())
