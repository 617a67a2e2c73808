"""Guessing a login password with many attempts at once, from several server processes.

The review found that N-1 wrong passwords sent at once, then the right one 150 ms later,
logged in and left the account "locked": each attempt read the lock before its slow hash and
never looked again. Each child process here builds its own kinko, as a gunicorn worker
would, and its threads start their logins together (a multiprocessing barrier). The stored
hash is argon2id slow enough (tens of ms) that the burst is still hashing when the right
password arrives, as in the field.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from typing import Any

import argon2
import pytest
from sqlalchemy import Engine

from kinko.bootstrap import Kinko, build
from kinko.config import Settings
from kinko.domain.errors import KinkoError
from kinko.domain.events import Action, Outcome
from kinko.domain.model import PasswordKind
from kinko.domain.secrets import Password
from kinko.services import authentication, customers
from kinko.services.context import system_clock
from kinko.services.passwords import Argon2Hasher
from kinko.store.keyring import Keyring
from kinko.store.seedbox import SeedBox
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD

pytestmark = pytest.mark.slow

WAIT_SECONDS = 120
CONTRACT_ID = "3000000001"
WRONG = "not-the-password"


def slow_hasher() -> Argon2Hasher:
    return Argon2Hasher(argon2.PasswordHasher(time_cost=2, memory_cost=32 * 1024, parallelism=1))


def _settings(database_url: str) -> Settings:
    # The per-contract and per-address throttles are another defence, tested on their own;
    # here every attempt must reach the password check.
    return Settings(database_url=database_url, login_limit_contract_attempts=1000,
                    login_limit_address_attempts=1000)


def login_worker(
    database_url: str,
    passwords: list[str],
    wrong_total: int,
    right_delay: float | None,
    barrier: Any,  # multiprocessing.synchronize.Barrier
    started: Any,  # multiprocessing.Value("i"): wrong attempts under way, in every process
    results: Any,  # multiprocessing.Queue of (password is right, outcome)
) -> None:
    """One server process: a thread per password, released together; the right password's
    thread waits until every wrong attempt is under way, then ``right_delay`` seconds more.
    Puts ``(right, "logged_in" | error name)``."""
    try:
        kinko = build(_settings(database_url), seedbox=SeedBox(Keyring.generate()),
                      hasher=slow_hasher())
        warm = [kinko.engine.raw_connection() for _ in passwords]
        for connection in warm:
            connection.close()
    except Exception as error:
        barrier.abort()
        for password in passwords:
            results.put((password == LOGIN_PASSWORD, f"crash: setup {error!r}"))
        return

    def attempt(password: str) -> None:
        right = password == LOGIN_PASSWORD
        try:
            barrier.wait(timeout=WAIT_SECONDS)
        except threading.BrokenBarrierError:
            results.put((right, "crash: the barrier broke"))
            return
        if right and right_delay is not None:
            deadline = time.monotonic() + WAIT_SECONDS
            while started.value < wrong_total and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(right_delay)
        else:
            with started.get_lock():
                started.value += 1
        try:
            authentication.start_login(kinko.ctx, CONTRACT_ID, Password(password))
        except KinkoError as error:
            results.put((right, type(error).__name__))
        except Exception as error:
            results.put((right, f"crash: {error!r}"))
        else:
            results.put((right, "logged_in"))

    workers = [threading.Thread(target=attempt, args=(p,)) for p in passwords]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    kinko.close()


def guess(database_url: str, passwords: list[list[str]], *,
          right_delay: float | None) -> list[tuple[bool, str]]:
    """Each inner list is one process's attempts; returns every attempt's outcome. The right
    password goes with the others, or ``right_delay`` seconds after they all began."""
    spawn = multiprocessing.get_context("spawn")
    total = sum(len(p) for p in passwords)
    wrong_total = sum(p.count(WRONG) for p in passwords)
    barrier = spawn.Barrier(total)
    started = spawn.Value("i", 0)
    results = spawn.Queue()
    children = [
        spawn.Process(target=login_worker,
                      args=(database_url, mine, wrong_total, right_delay, barrier, started,
                            results), daemon=True)
        for mine in passwords
    ]
    for child in children:
        child.start()
    try:
        outcomes = [results.get(timeout=WAIT_SECONDS) for _ in range(total)]
    finally:
        for child in children:
            child.join(timeout=WAIT_SECONDS)
            if child.is_alive():
                child.terminate()
    assert [child.exitcode for child in children] == [0] * len(children)
    return outcomes


def a_customer(engine: Engine, database_url: str) -> Kinko:
    kinko = build(_settings(database_url), engine=engine, seedbox=SeedBox(Keyring.generate()),
                  hasher=slow_hasher(), clock=system_clock)
    customers.add_customer(
        kinko.ctx, contract_id=CONTRACT_ID, name="推測 太郎",
        login_password=Password(LOGIN_PASSWORD),
        confirmation_password=Password(CONFIRMATION_PASSWORD),
    )
    return kinko


def login_checks(kinko: Kinko) -> Counter[tuple[Outcome, str | None]]:
    with kinko.ctx.uow() as uow:
        events = uow.audit.recent(limit=1000, contract_id=CONTRACT_ID)
    return Counter((e.outcome, e.reason) for e in events
                   if e.action is Action.LOGIN_PASSWORD_CHECKED)


def login_locked(kinko: Kinko) -> bool:
    with kinko.ctx.uow() as uow:
        customer = uow.customers.by_contract_id(CONTRACT_ID)
    assert customer is not None
    return customer.password(PasswordKind.LOGIN).locked


def test_the_right_password_after_a_burst_of_wrong_ones_finds_the_account_locked(
    clean_engine: Engine, database_url: str,
) -> None:
    kinko = a_customer(clean_engine, database_url)
    limit = kinko.ctx.policy.max_password_failures
    assert limit == 5
    # 29 wrong passwords at once from two processes, the right one 150 ms after they all
    # began.
    first = [WRONG] * 15
    second = [WRONG] * 14 + [LOGIN_PASSWORD]

    outcomes = guess(database_url, [first, second], right_delay=0.15)

    assert [o for right, o in outcomes if right] == ["PasswordLocked"]
    # Wrong guesses all read alike, locked or not: nothing tells a guesser of the lock.
    assert Counter(o for right, o in outcomes if not right) == {"WrongPassword": 29}
    assert login_locked(kinko)
    # No more than ``limit`` guesses were ever checked against the hash's answer.
    checks = login_checks(kinko)
    assert checks[(Outcome.FAILURE, "wrong_password")] == limit
    assert checks[(Outcome.SUCCESS, None)] == 0
    assert sum(checks.values()) == 30


def test_a_burst_with_the_right_password_among_it_checks_no_more_than_the_limit(
    clean_engine: Engine, database_url: str,
) -> None:
    kinko = a_customer(clean_engine, database_url)
    limit = kinko.ctx.policy.max_password_failures
    first = [WRONG] * 10 + [LOGIN_PASSWORD]
    second = [WRONG] * 10

    outcomes = guess(database_url, [first, second], right_delay=None)

    checks = login_checks(kinko)
    logged_in = [o for _, o in outcomes].count("logged_in")
    wrong = checks[(Outcome.FAILURE, "wrong_password")]
    assert checks[(Outcome.SUCCESS, None)] == logged_in <= 1
    if logged_in:
        # The right password was among the first ``limit`` claimed: fewer than ``limit``
        # wrong ones were weighed before it cleared the count, at most ``limit`` after.
        assert wrong <= 2 * limit - 1
    else:
        # Otherwise no more than ``limit`` passwords were ever weighed, and they locked it.
        assert wrong <= limit
        assert login_locked(kinko)
    assert not any(o.startswith("crash") for _, o in outcomes)
