"""What the banking tests type: correct forms to change one field of, and drafts from them."""

from __future__ import annotations

from typing import Any

from kinko.banking.accounts import Account, AccountType
from kinko.banking.drafts import TransferDraft
from kinko.banking.rules import OUR_BANK_CODE
from kinko.domain.model import Customer
from kinko.services.payments import prepare_transfer
from tests.banking.conftest import Bank

OTHER_BANK = "0009"  # 三井住友銀行

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
    return prepare_transfer(bank.ctx, customer.id, **form)
