"""Preparing 振込 and 収納サービス: what the customer typed, the fee and the early balance
check, on the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from kinko.banking.accounts import Account, AccountType
from kinko.banking.errors import (
    FieldErrors,
    InsufficientFunds,
    SameAccount,
    UnknownAccount,
    UnknownBiller,
    UnknownPayee,
)
from kinko.banking.limits import MAX_DAILY_LIMIT
from kinko.banking.rules import OTHER_BANK_FEE, OUR_BANK_CODE, transfer_fee
from kinko.domain.errors import InvalidInput
from kinko.domain.model import Customer
from kinko.services.payments import prepare_bill_payment, prepare_transfer
from tests.banking.conftest import Bank
from tests.banking.forms import bill_form, prepare, to_account, typed

# --- what the customer types -----------------------------------------------------------------


def test_every_malformed_field_is_reported_at_once_with_a_message_for_the_screen(
    bank: Bank, hanako: Customer
) -> None:
    with pytest.raises(FieldErrors) as caught:
        prepare_transfer(bank.ctx, hanako.id, from_account_id="口座", bank_code="12",
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
    bank.set_daily_limit(hanako, MAX_DAILY_LIMIT)  # one transfer's bound, not the day's
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


# --- 収納サービス (Pay-easy) ----------------------------------------------------------------


def test_an_unknown_biller_is_refused_naming_the_biller_number(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    with pytest.raises(UnknownBiller) as caught:
        prepare_bill_payment(bank.ctx, hanako.id, **bill_form(account, biller_number="99999"))
    assert caught.value.code == "unknown_biller"
    assert caught.value.errors == {"biller_number": "この収納機関番号はお取り扱いできません"}


def test_bill_payment_fields_are_all_checked_at_once(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    with pytest.raises(FieldErrors) as caught:
        prepare_bill_payment(bank.ctx, hanako.id, from_account_id=account.id,
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
    draft = prepare_bill_payment(bank.ctx, hanako.id, **bill_form(
        account, customer_number="1" * 20, confirmation_number="2" * 16))
    assert (draft.bill.customer_number, draft.bill.confirmation_number) == ("1" * 20, "2" * 16)
