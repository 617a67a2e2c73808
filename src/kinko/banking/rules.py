"""The bank's rules for a payment: which banks and billers, the fee, the amount limits, and
what the paying and the receiving account must be.

Pure: the accounts are handed in, found by the ledger (``kinko.services.payments``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kinko.banking.accounts import Account
from kinko.banking.directory import DIRECTORY, OUR_BANK_CODE, OUR_BANK_NAME
from kinko.banking.errors import InsufficientFunds, SameAccount, UnknownAccount, UnknownPayee
from kinko.domain.errors import InvalidInput

__all__ = [
    "BANKS",
    "BILLERS",
    "MAX_AMOUNT",
    "MIN_AMOUNT",
    "OTHER_BANK_FEE",
    "OUR_BANK_CODE",
    "OUR_BANK_NAME",
    "REQUEST_KEY_LENGTH",
    "check_covered",
    "check_request_key",
    "insufficient_funds",
    "own_account",
    "payee_account",
    "transfer_fee",
]

#: The banks the IB transfers to (金融機関コード → name), from the bundled bank table.
BANKS: Mapping[str, str] = MappingProxyType({b.code: b.name for b in DIRECTORY})

#: The billers (収納機関番号 → name) whose Pay-easy bills the IB accepts.
BILLERS: Mapping[str, str] = MappingProxyType({
    "12345": "きんこ電力",
    "23456": "きんこガス",
    "34567": "きんこ市水道局",
})

#: 振込手数料 to another bank, whatever the amount; transfers within our bank are free.
OTHER_BANK_FEE = 330

#: One transfer or payment, in yen.
MIN_AMOUNT = 1
MAX_AMOUNT = 10_000_000

#: A request key (one per confirmation screen) is 1 to this many printable ASCII characters.
REQUEST_KEY_LENGTH = 64


def transfer_fee(bank_code: str, amount: int) -> int:
    """振込手数料 in yen: nothing within our bank, ``OTHER_BANK_FEE`` to any other bank.

    ``amount`` is there for the day the schedule gets an amount tier (e.g. 3万円以上).
    """
    del amount  # one flat fee for now
    return 0 if bank_code == OUR_BANK_CODE else OTHER_BANK_FEE


def insufficient_funds() -> InsufficientFunds:
    return InsufficientFunds("the balance does not cover the amount and the fee",
                             errors={"amount": "残高が不足しています"})


def check_covered(balance: int, total: int) -> None:
    """Raise InsufficientFunds unless ``balance`` covers ``total`` (amount and fee)."""
    if balance < total:
        raise insufficient_funds()


def own_account(found: Account | None) -> Account:
    """The paying account, as the ledger found it among the customer's own accounts."""
    if found is None:
        raise UnknownAccount("the paying account is not the customer's",
                             errors={"from_account_id": "出金口座を選択してください"})
    return found


def payee_account(found: Account | None, source: Account) -> Account:
    """The account at our bank a transfer names, which must exist and not be ``source``."""
    if found is None:
        raise UnknownPayee("no such account at our bank",
                           errors={"account_number": "お振込先の口座が見つかりません"})
    if found.id == source.id:
        raise SameAccount("an account cannot pay into itself",
                          errors={"account_number": "出金口座と同じ口座にはお振込できません"})
    return found


def check_request_key(request_key: str) -> None:
    if (not 0 < len(request_key) <= REQUEST_KEY_LENGTH
            or not (request_key.isascii() and request_key.isprintable())):
        raise InvalidInput(f"a request key is 1 to {REQUEST_KEY_LENGTH} printable ASCII "
                           "characters")
