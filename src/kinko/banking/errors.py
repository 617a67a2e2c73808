"""The errors of the IB ledger, and the inputs they blame so screens can show them in place.

    KinkoError
    ├── InvalidInput
    │   └── FieldErrors              malformed inputs, every wrong field at once
    └── BankingError                 well-formed, but the bank cannot do it
        ├── UnknownAccount           the paying account is not the customer's
        ├── UnknownPayee             a bank we do not reach, or no such account at ours
        ├── UnknownBiller            no such 収納機関 (Pay-easy biller)
        ├── SameAccount              paying an account into itself
        ├── InsufficientFunds        the balance does not cover amount and fee
        ├── TransferLimitExceeded    today's transfers would pass the daily limit (振込限度額)
        ├── RequestKeyReused         a request key already used for another payment
        └── BookingClash             the request key or receipt number was taken meanwhile
                                     (the ledger's signal to look again; never shown)

Every error carries ``errors``: input name → a short Japanese message for the screen, empty
when no single input is to blame. English messages (``str(error)``) never repeat inputs.
"""

from __future__ import annotations

from collections.abc import Mapping

from kinko.domain.errors import InvalidInput, KinkoError

__all__ = [
    "BankingError",
    "BookingClash",
    "FieldErrors",
    "InsufficientFunds",
    "RequestKeyReused",
    "SameAccount",
    "TransferLimitExceeded",
    "UnknownAccount",
    "UnknownBiller",
    "UnknownPayee",
]


class FieldErrors(InvalidInput):
    """Some inputs are malformed; ``errors`` says which, with a message for each."""

    code = "invalid_fields"

    def __init__(self, errors: Mapping[str, str]) -> None:
        if not errors:
            raise ValueError("FieldErrors needs at least one field")
        self.errors: dict[str, str] = dict(errors)
        super().__init__("invalid input: " + ", ".join(sorted(self.errors)))


class BankingError(KinkoError):
    """The bank cannot carry out this transfer or payment."""

    code = "banking_error"

    def __init__(self, message: str = "", *, errors: Mapping[str, str] | None = None) -> None:
        self.errors: dict[str, str] = dict(errors or {})
        super().__init__(message)


class UnknownAccount(BankingError):
    """The paying account is not one of the customer's accounts."""

    code = "unknown_account"


class UnknownPayee(BankingError):
    """The payee's bank is not reachable, or the payee account does not exist."""

    code = "unknown_payee"


class UnknownBiller(BankingError):
    """No such biller (収納機関)."""

    code = "unknown_biller"


class SameAccount(BankingError):
    """An account cannot pay into itself."""

    code = "same_account"


class InsufficientFunds(BankingError):
    """The balance does not cover the amount and the fee."""

    code = "insufficient_funds"


class TransferLimitExceeded(BankingError):
    """Today's transfers (Japan date) and this one would pass the customer's daily limit."""

    code = "transfer_limit_exceeded"


class RequestKeyReused(BankingError):
    """This request key was already used for a different payment."""

    code = "request_key_reused"


class BookingClash(BankingError):
    """A payment committed meanwhile took this request key or receipt number.

    The ledger raises it from a unit of work that must then be discarded;
    ``services.payments`` looks the key up again (a double submit) or draws another number.
    """

    code = "booking_clash"
