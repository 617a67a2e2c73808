"""THE decision on a one-time password: from a token as read (with its version), the code,
the time and the bank's policy, what happens — the only place that knows windows, drift,
replay, the failure limit, binding expiry and which states accept codes.

The decision is a value. The store applies it to exactly the token version it was made on
(one compare-and-set); if the token changed meanwhile, the caller reads it again and decides
again, so concurrent checks of one token serialise on the token, never on a lock held
across a hash.

    decide(token, seed, code, now, policy, states) ─┬─ Accept(step, drift)
                                                    └─ Refuse(error, failures?, state?)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from kinko.domain import otp
from kinko.domain.errors import (
    AuthenticationFailed,
    ReplayedCode,
    TokenExpired,
    TokenLocked,
    TokenRevoked,
    TokenSuspended,
    WrongCode,
)
from kinko.domain.lifecycle import TokenEvent, TokenState, transition
from kinko.domain.model import Token
from kinko.domain.policy import Policy
from kinko.domain.serials import normalize_digits


@dataclass(frozen=True)
class Accept:
    """The code is right: spend ``step`` (nothing at or below it passes again), learn
    ``drift`` (steps from now's step), clear the failure count."""

    step: int
    drift: int

    @property
    def match(self) -> otp.TotpMatch:
        return otp.TotpMatch(step=self.step, drift=self.drift)


@dataclass(frozen=True)
class Refuse:
    """The code is refused with ``error``. ``failures`` is the new failure count when this
    attempt counts as a wrong code; ``state`` the token's new state when the refusal changes
    it (the failure limit locks an active token or revokes an unbound one; a binding period
    that has run out revokes an unbound token). Neither set: the token is left as it was."""

    error: AuthenticationFailed
    failures: int | None = None
    state: TokenState | None = None

    @property
    def writes(self) -> bool:
        return self.failures is not None or self.state is not None


Decision = Accept | Refuse


def decide(
    token: Token,
    seed: bytes,
    code: str,
    *,
    now: datetime,
    policy: Policy,
    states: Collection[TokenState],
) -> Decision:
    """What checking ``code`` against ``token`` (as read, with ``seed`` opened) decides.

    In order: an unbound token past its binding period is revoked (``TokenExpired``); a
    token in a state outside ``states`` is refused for its state, uncounted; then the code
    is compared in constant time with every step of the window around now's step plus the
    learned drift. A code of a spent step is a replay (uncounted); anything else that does
    not match counts as a wrong code, and the policy's limit locks the token (an unbound
    one is revoked instead).
    """
    if token.is_expired(now):
        return Refuse(TokenExpired(), state=transition(token.state, TokenEvent.EXPIRE))
    if token.state not in states:
        return Refuse(state_error(token.state))
    try:
        match = otp.verify_totp(
            token.params, seed, normalize_digits(code), now=now.timestamp(),
            drift=token.drift, window=policy.window, last_step=token.last_step,
        )
    except ReplayedCode as replayed:
        return Refuse(replayed)
    except WrongCode:
        failures = token.failures + 1
        if failures < policy.max_code_failures:
            # The customer is warned before the lock: how many more wrong codes it takes.
            return Refuse(WrongCode(remaining=policy.max_code_failures - failures),
                          failures=failures)
        state = transition(token.state, TokenEvent.TOO_MANY_FAILURES)
        return Refuse(state_error(state, revoked=TokenRevoked(
            "too many wrong codes for an unregistered token")),
            failures=failures, state=state)
    return Accept(step=match.step, drift=match.drift)


def state_error(state: TokenState, *, revoked: TokenRevoked | None = None,
                ) -> AuthenticationFailed:
    """What a customer is told when a token in ``state`` cannot take a code."""
    if state is TokenState.LOCKED:
        return TokenLocked()
    if state is TokenState.SUSPENDED:
        return TokenSuspended()
    if state is TokenState.REVOKED:
        return revoked or TokenRevoked()
    return TokenRevoked("this token cannot be used here")
