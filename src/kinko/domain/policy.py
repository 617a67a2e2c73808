"""The bank's verification rules as one value, with DESIGN.md's defaults.

Every number here is configurable through ``KINKO_*`` settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from kinko.domain.errors import InvalidInput
from kinko.domain.otp import TotpParameters
from kinko.domain.throttle import RateLimit


@dataclass(frozen=True)
class Policy:
    #: What new tokens use: the bank's app shows TOTP/SHA1, 6 digits, 30 s, t0 = 0.
    totp: TotpParameters = field(default_factory=TotpParameters)
    #: Steps accepted either side of the token's learned drift.
    window: int = 1
    #: Steps searched either side of now when staff resync with two consecutive codes.
    resync_search: int = 1000
    #: Consecutive wrong codes that lock a token.
    max_code_failures: int = 5
    #: Consecutive wrong passwords (counted per password) that lock it.
    max_password_failures: int = 5
    #: How long an unbound token may wait for 利用開始 or 交換.
    unbound_ttl: timedelta = timedelta(days=30)
    #: Password checks per client address and per contract ID (sliding windows).
    login_per_address: RateLimit = field(
        default_factory=lambda: RateLimit(30, timedelta(minutes=5)))
    login_per_contract: RateLimit = field(
        default_factory=lambda: RateLimit(10, timedelta(minutes=5)))

    def __post_init__(self) -> None:
        if not 0 <= self.window <= 10:
            raise InvalidInput("window must be between 0 and 10 steps")
        if self.resync_search < 1:
            raise InvalidInput("resync_search must be at least 1 step")
        if self.max_code_failures < 1 or self.max_password_failures < 1:
            raise InvalidInput("failure limits must be at least 1")
        if self.unbound_ttl <= timedelta(0):
            raise InvalidInput("unbound_ttl must be positive")
