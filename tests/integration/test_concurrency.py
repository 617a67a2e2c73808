"""One code sent to several server processes at once: accepted once, counted once, locked once.

Each child process builds its own kinko from settings, as a gunicorn worker would, and its
threads all call ``verification.verify_code`` at the same instant (a multiprocessing barrier).
"""

from __future__ import annotations

import base64
import multiprocessing
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from kinko.bootstrap import Kinko, build
from kinko.config import Settings
from kinko.domain.errors import KinkoError
from kinko.domain.events import Action, Actor, AuditEvent, Channel, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import Customer, Token, TokenOrigin
from kinko.domain.secrets import Code, Password
from kinko.services import customers, enrollment, verification
from kinko.services.context import system_clock
from kinko.services.issuance import IssuedToken, issue_token
from kinko.services.passwords import Argon2Hasher
from kinko.store.keyring import Keyring
from kinko.store.seedbox import SeedBox
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD

pytestmark = pytest.mark.slow

#: How long anyone waits for the others: generous for a loaded 2-core CI runner.
WAIT_SECONDS = 120

#: The customer's requests arrive over the API channel; enrollment used the web screens,
#: so the audit events of the race are the API ones.
RACE_CHANNEL = Channel.API


# --- the child process (module level, so that the spawn start method can import it) ---------


def race_worker(
    database_url: str,
    master_key: str,
    token_id: int,
    code: str,
    contract_id: str,
    threads: int,
    barrier: Any,  # multiprocessing.synchronize.Barrier
    results: Any,  # multiprocessing.Queue of (outcome, step)
) -> None:
    """Build a kinko of this process's own, then check ``code`` from ``threads`` threads at once.

    Puts one ``(outcome, step)`` per thread on ``results``: ``("accepted", step)``, the
    KinkoError's class name, or ``("crash", text)`` for anything unexpected.
    """
    try:
        kinko = build(
            Settings(database_url=database_url, db_pool_size=threads),
            seedbox=SeedBox(Keyring.from_env_value(master_key)),
            hasher=Argon2Hasher.fast_for_tests(),
        )
        # Open one connection per thread now, so the race is not spread out by connecting.
        warm = [kinko.engine.raw_connection() for _ in range(threads)]
        for connection in warm:
            connection.close()
    except Exception as error:
        barrier.abort()
        for _ in range(threads):
            results.put(("crash", f"setup: {error!r}"))
        return

    actor = Actor.customer(contract_id, RACE_CHANNEL)

    def attempt() -> None:
        try:
            barrier.wait(timeout=WAIT_SECONDS)
        except threading.BrokenBarrierError:
            results.put(("crash", "the barrier broke: another worker failed to start"))
            return
        try:
            match = verification.verify_code(
                kinko.ctx, token_id, Code(code), actor=actor, contract_id=contract_id
            )
        except KinkoError as error:
            results.put((type(error).__name__, None))
        except Exception as error:
            results.put(("crash", repr(error)))
        else:
            results.put(("accepted", match.step))

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    kinko.close()


# --- the parent ------------------------------------------------------------------------------


@dataclass
class Enrolled:
    kinko: Kinko
    keyring: Keyring
    customer: Customer
    issued: IssuedToken
    token: Token


def master_key_value(keyring: Keyring) -> str:
    """The keyring's current key as the base64url text ``Keyring.from_env_value`` reads."""
    key = keyring.keys[keyring.current_id]
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def enroll_on_real_time(engine: Engine, database_url: str) -> Enrolled:
    """A customer with an active token, enrolled on the system clock the children also use."""
    keyring = Keyring.generate()
    kinko = build(
        Settings(database_url=database_url),
        engine=engine,
        seedbox=SeedBox(keyring),
        hasher=Argon2Hasher.fast_for_tests(),
        clock=system_clock,
    )
    ctx = kinko.ctx
    customer = customers.add_customer(
        ctx, contract_id="2000000001", name="並行 花子",
        login_password=Password(LOGIN_PASSWORD),
        confirmation_password=Password(CONFIRMATION_PASSWORD),
    )
    issued = issue_token(ctx, TokenOrigin.ISSUED)
    started = enrollment.begin(ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    shown_now = issued.token.params.code_at(issued.seed.reveal(), system_clock().timestamp())
    confirmed = enrollment.confirm_token(ctx, started, issued.token.serial, Code(shown_now))
    token = enrollment.register(ctx, confirmed, login_otp_required=True,
                                confirmation_password=Password(CONFIRMATION_PASSWORD))
    assert token.state is TokenState.ACTIVE
    assert token.last_step is not None
    return Enrolled(kinko, keyring, customer, issued, token)


def race(
    enrolled: Enrolled, database_url: str, code: str, *, processes: int, threads: int
) -> list[tuple[str, int | None]]:
    """Send ``code`` from ``processes`` × ``threads`` callers released together; their outcomes."""
    spawn = multiprocessing.get_context("spawn")
    total = processes * threads
    barrier = spawn.Barrier(total)
    results = spawn.Queue()
    children = [
        spawn.Process(
            target=race_worker,
            args=(database_url, master_key_value(enrolled.keyring), enrolled.token.id, code,
                  enrolled.customer.contract_id, threads, barrier, results),
            daemon=True,
        )
        for _ in range(processes)
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
    assert [child.exitcode for child in children] == [0] * processes
    return outcomes


def stored_token(enrolled: Enrolled) -> Token:
    with enrolled.kinko.ctx.uow() as uow:
        token = uow.tokens.get(enrolled.token.id)
    assert token is not None
    return token


def race_events(enrolled: Enrolled) -> list[AuditEvent]:
    """The audit events the racing callers left for this token's serial."""
    with enrolled.kinko.ctx.uow() as uow:
        recent = uow.audit.recent(limit=1000, serial=enrolled.token.serial)
    return [event for event in recent if event.channel is RACE_CHANNEL]


def wrong_code(enrolled: Enrolled) -> str:
    """Six digits matching none of the steps anywhere near now (a guess, not a code)."""
    params, seed = enrolled.issued.token.params, enrolled.issued.seed.reveal()
    step = params.step_at(system_clock().timestamp())
    near = {params.code_at_step(seed, s) for s in range(step - 10, step + 11)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near)


def test_one_code_sent_64_times_at_once_from_several_processes_is_accepted_exactly_once(
    clean_engine: Engine, database_url: str,
) -> None:
    enrolled = enroll_on_real_time(clean_engine, database_url)
    # Enrollment spent the step of the code shown then; the phone's next code (at most 30 s
    # away) is accepted now, as the window is one step either side.
    step = enrolled.token.last_step + 1  # type: ignore[operator]
    code = enrolled.issued.token.params.code_at_step(enrolled.issued.seed.reveal(), step)

    outcomes = race(enrolled, database_url, code, processes=8, threads=8)

    assert Counter(outcome for outcome, _ in outcomes) == {"accepted": 1, "ReplayedCode": 63}
    assert [s for outcome, s in outcomes if outcome == "accepted"] == [step]
    token = stored_token(enrolled)
    assert (token.state, token.last_step, token.failures) == (TokenState.ACTIVE, step, 0)
    checks = Counter(
        (event.outcome, event.reason) for event in race_events(enrolled)
        if event.action is Action.TOKEN_CODE_CHECKED
    )
    assert checks == {(Outcome.SUCCESS, None): 1, (Outcome.FAILURE, "replayed_code"): 63}


def test_concurrent_wrong_codes_lock_the_token_exactly_once(
    clean_engine: Engine, database_url: str,
) -> None:
    enrolled = enroll_on_real_time(clean_engine, database_url)
    limit = enrolled.kinko.ctx.policy.max_code_failures
    assert limit == 5

    outcomes = race(enrolled, database_url, wrong_code(enrolled), processes=4, threads=3)

    # Four guesses are counted as wrong, the fifth locks the token, and every later one
    # finds it locked: none is counted against an already locked token as "wrong".
    assert Counter(outcome for outcome, _ in outcomes) == {
        "WrongCode": limit - 1, "TokenLocked": 12 - (limit - 1),
    }
    assert stored_token(enrolled).state is TokenState.LOCKED
    events = race_events(enrolled)
    assert [e.reason for e in events if e.action is Action.TOKEN_LOCKED] == [
        "too_many_wrong_codes"
    ]
    checks = Counter(
        (event.outcome, event.reason) for event in events
        if event.action is Action.TOKEN_CODE_CHECKED
    )
    assert checks == {
        (Outcome.FAILURE, "wrong_code"): limit - 1,
        (Outcome.FAILURE, "token_locked"): 12 - (limit - 1),
    }
