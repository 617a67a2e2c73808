"""The customer and token as the services see them: plain data, no ORM.

Repositories turn rows into these and back; rules that need the clock take ``now``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from kinko.domain.lifecycle import BOUND_STATES, TokenState
from kinko.domain.otp import TotpParameters


class TokenOrigin(enum.StrEnum):
    """How a token came to exist; demo tokens alone may have codes shown by the CLI."""

    ISSUED = "issued"            # `kinko token issue` (development, operations)
    DEMO = "demo"                # `kinko demo`
    ACTIVATION = "activation"    # the token app's X25519 activation
    THIRD_PARTY = "third_party"  # an otpauth:// QR for another authenticator app


@dataclass(frozen=True)
class Token:
    id: int
    serial: str
    state: TokenState
    customer_id: int | None
    params: TotpParameters
    origin: TokenOrigin
    last_step: int | None
    drift: int
    failures: int
    created_at: datetime
    expires_at: datetime | None
    bound_at: datetime | None
    state_changed_at: datetime
    last_used_at: datetime | None

    @property
    def is_bound(self) -> bool:
        return self.state in BOUND_STATES

    def is_expired(self, now: datetime) -> bool:
        """An unbound token past its binding period can no longer be registered."""
        return (
            self.state is TokenState.UNBOUND
            and self.expires_at is not None
            and now >= self.expires_at
        )


class PasswordKind(enum.StrEnum):
    LOGIN = "login"                 # ログインパスワード
    CONFIRMATION = "confirmation"   # 確認用パスワード / 資金移動用パスワード


@dataclass(frozen=True)
class PasswordState:
    hash: str
    failures: int
    locked_at: datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


@dataclass(frozen=True)
class Customer:
    id: int
    contract_id: str
    name: str
    email: str | None
    login_password: PasswordState
    confirmation_password: PasswordState
    login_otp_required: bool
    created_at: datetime

    def password(self, kind: PasswordKind) -> PasswordState:
        return self.login_password if kind is PasswordKind.LOGIN else self.confirmation_password
