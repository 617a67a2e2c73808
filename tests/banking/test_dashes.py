"""「ー」 and the other dash look-alikes between digits, on the 振込 and 収納 screens' inputs
(issue 15 point 3): what an IME types for "-" is a separator, like full-width digits."""

from __future__ import annotations

import pytest

from kinko.banking.accounts import Account
from kinko.banking.drafts import receipt_number_as_typed
from kinko.domain.model import Customer
from kinko.services.payments import prepare_bill_payment
from tests.banking.conftest import Bank
from tests.banking.forms import prepare, typed

DASHES = ["ー", "ｰ", "－", "‐", "‑", "‒", "–", "—", "―", "−"]


@pytest.mark.parametrize("dash", DASHES)
def test_an_account_number_and_codes_typed_with_any_dash_are_accepted(
    bank: Bank, hanako: Customer, account: Account, dash: str
) -> None:
    draft = prepare(bank, hanako, **typed(account, bank_code=f"００{dash}０９",
                                          branch_code=f"1{dash}23",
                                          account_number=f"765{dash}4321"))
    assert (draft.payee.bank_code, draft.payee.branch_code, draft.payee.account_number) == (
        "0009", "123", "7654321")


def test_a_bill_slip_typed_with_long_vowel_marks_is_accepted(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare_bill_payment(bank.ctx, hanako.id, from_account_id=account.id,
                                 biller_number="12ー345", customer_number="0001ー2345",
                                 confirmation_number="98ー76", amount="8,460")
    assert (draft.bill.biller_number, draft.bill.customer_number,
            draft.bill.confirmation_number) == ("12345", "00012345", "9876")


def test_a_receipt_number_typed_with_a_long_vowel_mark() -> None:
    assert receipt_number_as_typed("ｔ２６１２０２ー１２３４５") == "T26120212345"
