"""Password guessing through the login screen: per-address and per-contract limits shared by
every server process, and no answer that tells a locked account from an unknown one."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import argon2
import pytest

from kinko.domain.secrets import Password
from kinko.services.passwords import Argon2Hasher
from tests.support import LOGIN_PASSWORD, Harness
from tests.web.client import Browser, text_of

WRONG_OR_UNKNOWN = "契約者IDまたはログインパスワードが正しくありません。"
TOO_MANY = "短時間に多くの試行があったため、受付を一時的に制限しています。"


def test_one_address_trying_many_contract_ids_is_refused_with_retry_after(
    harness: Harness,
) -> None:
    h = harness
    limit = h.ctx.policy.login_per_address
    b = Browser(h)
    statuses = [b.login(f"{1000000100 + n}", password="guess-1").status_code
                for n in range(2 * limit.attempts)]
    assert statuses[:limit.attempts] == [422] * limit.attempts
    assert set(statuses[limit.attempts:]) == {429}
    refused = b.login("1000000999", password="guess-1")
    assert refused.status_code == 429
    assert TOO_MANY in text_of(refused)
    assert 1 <= int(refused.headers["retry-after"]) <= 2 * limit.seconds
    # Another server process shares the count (it lives in the database) ...
    other = Browser(h)
    assert other.login("1000000998", password="guess-1").status_code == 429
    # ... and so do the flows that start with the login password.
    other.get("/otp/enroll")
    flow = other.post("/otp/enroll", {"contract_id": "1000000997", "login_password": "guess"})
    assert flow.status_code == 429
    assert "retry-after" in flow.headers
    # Refused attempts count too, so the last answer names the wait that holds now.
    h.clock.advance(int(flow.headers["retry-after"]))
    customer = h.customer()
    assert b.login(customer.contract_id).headers.get("location") == "/home"


class CountingHasher(Argon2Hasher):
    """Real argon2id, counting how many hashes each login weighs."""

    def __init__(self) -> None:
        super().__init__(argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        self.verified = 0

    def verify(self, stored_hash: str, password: Password) -> bool:
        self.verified += 1
        return super().verify(stored_hash, password)


@pytest.fixture
def counted(harness: Harness) -> tuple[Harness, CountingHasher]:
    hasher = CountingHasher()
    kinko = harness.kinko
    harness.kinko = replace(kinko, ctx=replace(kinko.ctx, hasher=hasher))
    return harness, hasher


def test_unknown_wrong_and_locked_cost_one_hash_each_and_read_the_same(
    counted: tuple[Harness, CountingHasher],
) -> None:
    h, hasher = counted
    locked, open_ = h.customer("1000000001"), h.customer("1000000002")
    b = Browser(h)
    for _ in range(h.ctx.policy.max_password_failures):
        b.login(locked.contract_id, password="guess-1")
    h.clock.advance(3600)  # past the throttles: only the lock is left

    work: Counter[str] = Counter()
    messages: dict[str, str] = {}
    for label, contract_id in [("unknown", "1000000003"), ("wrong", open_.contract_id),
                               ("locked", locked.contract_id)]:
        before = hasher.verified
        response = b.login(contract_id, password="guess-2")
        work[label] = hasher.verified - before
        messages[label] = text_of(response)
        assert response.status_code == 422
    assert work == {"unknown": 1, "wrong": 1, "locked": 1}
    assert WRONG_OR_UNKNOWN in messages["locked"]
    assert "ロック" not in messages["locked"]
    assert messages["unknown"] == messages["wrong"] == messages["locked"]
    # Only the right password learns of the lock.
    assert "パスワードがロックされています" in text_of(b.login(locked.contract_id,
                                                                 password=LOGIN_PASSWORD))


def test_the_right_password_on_the_last_try_before_the_lock_still_logs_in(
    harness: Harness,
) -> None:
    h = harness
    customer = h.customer()
    b = Browser(h)
    for _ in range(h.ctx.policy.max_password_failures - 1):
        assert b.login(customer.contract_id, password="guess-1").status_code == 422
    assert b.login(customer.contract_id).headers.get("location") == "/home"
    with h.ctx.uow() as uow:
        stored = uow.customers.get(customer.id)
    assert stored is not None
    assert (stored.login_password.failures, stored.login_password.locked) == (0, False)
