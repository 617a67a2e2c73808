"""The domain says how many more wrong codes lock a token (issue 15 point 1): the screens
warn with that count and never recompute the rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kinko.domain.errors import TokenLocked, WrongCode
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import Token, TokenOrigin
from kinko.domain.otp import TotpParameters
from kinko.domain.policy import Policy
from kinko.domain.verification import Refuse, decide

SEED = bytes(range(20))
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def token(failures: int) -> Token:
    return Token(id=1, serial="123456789012", state=TokenState.ACTIVE, customer_id=1,
                 params=TotpParameters(), origin=TokenOrigin.ISSUED, last_step=None, drift=0,
                 failures=failures, created_at=NOW, expires_at=None, bound_at=NOW,
                 state_changed_at=NOW, last_used_at=None)


def wrong_code() -> str:
    right = TotpParameters().code_at(SEED, NOW.timestamp())
    return "000000" if right != "000000" else "111111"


@pytest.mark.parametrize("limit", [3, 5])
def test_a_counted_wrong_code_says_how_many_more_lock_the_token(limit: int) -> None:
    policy = Policy(max_code_failures=limit)
    for failures in range(limit - 1):
        decision = decide(token(failures), SEED, wrong_code(), now=NOW, policy=policy,
                          states={TokenState.ACTIVE})
        assert isinstance(decision, Refuse) and isinstance(decision.error, WrongCode)
        assert decision.error.remaining == limit - failures - 1
    last = decide(token(limit - 1), SEED, wrong_code(), now=NOW, policy=policy,
                  states={TokenState.ACTIVE})
    assert isinstance(last, Refuse) and isinstance(last.error, TokenLocked)
