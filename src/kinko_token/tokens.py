"""What the token app knows about a token, and the code it shows at a given moment.

Shared by the vault, the activation client, the terminal UI and the CLI. Pure: ``now`` is
always a parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kinko.domain.otp import TotpParameters
from kinko.domain.secrets import Seed
from kinko.domain.serials import format_serial

__all__ = [
    "ACTIVATED_MESSAGE",
    "DEFAULT_SERVER",
    "Reading",
    "TokenInfo",
    "format_timestamp",
    "group_code",
    "parse_timestamp",
    "read_code",
]

DEFAULT_SERVER = "http://127.0.0.1:8000"
# What the customer does next with a new token (利用開始, or step ⑤ of 交換), in the words of
# the bank's guide; shown by the terminal UI and the CLI alike.
ACTIVATED_MESSAGE = (
    "インターネットバンキングの利用開始画面で、シリアル番号とワンタイムパスワードを入力してください"
)


@dataclass(frozen=True)
class TokenInfo:
    """A token on this device, without its seed: what the file keeps in the clear."""

    serial: str
    server: str
    parameters: TotpParameters
    activated_at: datetime
    expires_at: datetime | None = None

    @property
    def display_serial(self) -> str:
        """The serial as the customer types it into the IB screen: ``1234 5678 9012``."""
        return format_serial(self.serial)


@dataclass(frozen=True)
class Reading:
    """The code a token shows at one moment, and how long it stays."""

    code: str = field(repr=False)
    step: int
    seconds_left: float
    period: int

    @property
    def grouped(self) -> str:
        """The code as displayed: ``123 456``."""
        return group_code(self.code)

    @property
    def whole_seconds_left(self) -> int:
        """Seconds left rounded up (1 to ``period``), as a countdown shows them."""
        return max(1, math.ceil(self.seconds_left))


def read_code(parameters: TotpParameters, seed: Seed, now: float) -> Reading:
    """The code of ``seed`` at unix time ``now``, with the seconds until the next one."""
    return Reading(
        code=parameters.code_at(seed.reveal(), now),
        step=parameters.step_at(now),
        seconds_left=parameters.seconds_left(now),
        period=parameters.period,
    )


def group_code(code: str) -> str:
    """Split a code in two halves for reading aloud or typing: ``123456`` → ``123 456``;
    an odd length puts the longer half first (``1234 567``)."""
    half = (len(code) + 1) // 2
    return f"{code[:half]} {code[half:]}"


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp with a zone (``2026-12-26T07:00:00Z``), as UTC.

    ValueError if it is not one, or has no zone: a bank's deadline is never local guesswork.
    """
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError("not a timestamp")
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a timestamp needs a zone")
    return value.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """The UTC ISO 8601 form written to the token file: ``2026-12-26T07:00:00Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
