"""The rate-limit counters in the database (``SqlRateLimits.hit``) and the login throttles
built on them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kinko.domain.errors import RateLimited, WrongPassword
from kinko.domain.secrets import Password
from kinko.domain.throttle import RateLimit, WindowCounts
from kinko.services import authentication, enrollment
from tests.support import LOGIN_PASSWORD, Harness

WINDOW = timedelta(minutes=5)


def hit(h: Harness, key: str, limit: RateLimit) -> WindowCounts:
    with h.ctx.uow() as uow:
        counts = uow.rate_limits.hit(key, window_start=limit.window_start(h.clock()),
                                     window=limit.window)
        uow.commit()
    return counts


def test_a_counter_keeps_the_previous_window_and_forgets_older_ones(harness: Harness) -> None:
    h, limit = harness, RateLimit(3, WINDOW)
    assert [hit(h, "k", limit).current for _ in range(3)] == [1, 2, 3]
    h.clock.advance(WINDOW.total_seconds())
    assert (hit(h, "k", limit).current, hit(h, "k", limit).previous) == (1, 3)
    h.clock.advance(WINDOW.total_seconds())
    assert hit(h, "k", limit) == WindowCounts(limit.window_start(h.clock()), 1, 2)
    h.clock.advance(3 * WINDOW.total_seconds())
    assert hit(h, "k", limit) == WindowCounts(limit.window_start(h.clock()), 1, 0)
    assert hit(h, "other", limit).current == 1


def test_logins_for_one_contract_are_limited_whatever_the_address(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    limit = h.ctx.policy.login_per_contract
    # Every attempt counts, right or wrong (the lock is what counts wrong ones).
    for n in range(limit.attempts):
        authentication.start_login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD),
                                   client_address=f"192.0.2.{n}")
    with pytest.raises(RateLimited) as refused:
        authentication.start_login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD),
                                   client_address="198.51.100.1")
    assert 1 <= refused.value.retry_after <= 2 * limit.seconds
    # 利用開始 ② checks the same password, so it counts against the same limit.
    with pytest.raises(RateLimited):
        enrollment.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    h.clock.advance(refused.value.retry_after + limit.seconds)
    authentication.start_login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))


def test_an_unknown_contract_id_is_limited_exactly_like_a_known_one(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    limit = h.ctx.policy.login_per_contract
    outcomes: dict[str, list[str]] = {}
    for contract_id in (customer.contract_id, "1999999999"):
        outcomes[contract_id] = []
        for _ in range(limit.attempts + 1):
            try:
                authentication.start_login(h.ctx, contract_id, Password("guess"))
            except (WrongPassword, RateLimited) as error:
                outcomes[contract_id].append(error.code)
    assert outcomes[customer.contract_id] == outcomes["1999999999"]
    assert outcomes["1999999999"][-1] == RateLimited.code
