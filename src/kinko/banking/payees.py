"""登録振込先: the payees a customer saved to choose from when starting a transfer.

A customer saves a payee after a transfer (from its receipt) and may delete it; one account
is saved once. The ledger port stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kinko.banking.drafts import Payee

__all__ = ["MAX_SAVED_PAYEES", "SavedPayee"]

#: How many payees one customer may keep.
MAX_SAVED_PAYEES = 50


@dataclass(frozen=True)
class SavedPayee:
    id: int
    customer_id: int
    payee: Payee
    saved_at: datetime

    def form_values(self) -> dict[str, str]:
        """The transfer input's fields this payee fills in."""
        p = self.payee
        return {"bank_code": p.bank_code, "branch_code": p.branch_code,
                "account_type": p.account_type.value, "account_number": p.account_number,
                "payee_kana": p.kana}
