"""The daily transfer limit (振込限度額): how much a customer may transfer in one Japan day.

The customer may lower it freely and raise it (up to ``MAX_DAILY_LIMIT``) only with the
proof a transaction needs (``services.transactions.prove``). Every transfer booked since
midnight in Japan counts, fee excluded; bill payments do not. The booking checks it
(``services.payments``) after claiming the customer's limit, so two transfers at once are
counted one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from kinko.banking.errors import TransferLimitExceeded
from kinko.domain.notices import Notice, NoticeKind

__all__ = [
    "DEFAULT_DAILY_LIMIT",
    "MAX_DAILY_LIMIT",
    "DailyLimit",
    "check_within",
    "day_start",
    "limit_exceeded",
    "notice_of_change",
]

#: The limit of a customer who never changed it.
DEFAULT_DAILY_LIMIT = 1_000_000
#: The highest limit a customer may set on the IB.
MAX_DAILY_LIMIT = 10_000_000

_JST = timezone(timedelta(hours=9), "JST")


@dataclass(frozen=True)
class DailyLimit:
    """A customer's limit and what today's transfers used of it."""

    daily_limit: int
    used_today: int

    @property
    def remaining(self) -> int:
        return max(self.daily_limit - self.used_today, 0)

    def is_raised_by(self, new_limit: int) -> bool:
        """Whether setting ``new_limit`` raises the limit (and so needs the proof)."""
        return new_limit > self.daily_limit


def day_start(now: datetime) -> datetime:
    """Midnight in Japan of the day ``now`` falls on (Japan has no daylight saving time)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(_JST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def limit_exceeded() -> TransferLimitExceeded:
    return TransferLimitExceeded("the transfer passes the daily transfer limit",
                                 errors={"amount": "1日あたりの振込限度額を超えています"})


def check_within(limit: DailyLimit, amount: int) -> None:
    """Raise TransferLimitExceeded unless ``amount`` fits in what is left of today's limit."""
    if amount > limit.remaining:
        raise limit_exceeded()


def notice_of_change(contract_id: str, daily_limit: int, now: datetime) -> Notice:
    """The notice that tells the customer the limit changed (an attacker would raise it)."""
    return Notice(NoticeKind.TRANSFER_LIMIT_CHANGED, now, contract_id,
                  facts=(f"変更後の振込限度額（1日あたり）：{daily_limit:,}円",))
