"""The chain under concurrency on PostgreSQL: many writers and sealers, one gapless chain,
and writers that never wait for the chain.

Child processes build their own kinko from settings, as gunicorn workers would, and write
events through the real services (issuing tokens, checking codes).
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from kinko.bootstrap import build
from kinko.config import Settings
from kinko.domain.errors import ReplayedCode
from kinko.domain.events import Actor, Channel
from kinko.domain.model import TokenOrigin
from kinko.domain.secrets import Code
from kinko.services import verification
from kinko.services.context import system_clock
from kinko.services.issuance import issue_token
from kinko.services.passwords import Argon2Hasher
from kinko.store.audit_chain import GENESIS_HASH, mac_values
from kinko.store.audit_seal import seal_pending
from kinko.store.audit_verify import verify
from kinko.store.keyring import Keyring
from kinko.store.rows import AuditChainHeadRow, AuditEventRow
from kinko.store.seedbox import SeedBox
from tests.audit.conftest import START
from tests.integration.test_concurrency import master_key_value

#: How long anyone waits for the others: generous for a loaded 2-core CI runner.
WAIT_SECONDS = 120


# --- the child processes (module level, so that the spawn start method can import them) ----


def _kinko(database_url: str, master_key: str) -> Any:
    return build(Settings(database_url=database_url),
                 seedbox=SeedBox(Keyring.from_env_value(master_key)),
                 hasher=Argon2Hasher.fast_for_tests())


def _write_events(kinko: Any, actor: Actor) -> int:
    """Issue a token, check its code, check it again (a replay): three events; how many."""
    issued = issue_token(kinko.ctx, TokenOrigin.ISSUED, actor=actor)
    shown = issued.token.params.code_at(issued.seed.reveal(), system_clock().timestamp())
    verification.verify_code(kinko.ctx, issued.token.id, Code(shown), actor=actor,
                             states=verification.UNBOUND_ONLY)
    try:
        verification.verify_code(kinko.ctx, issued.token.id, Code(shown), actor=actor,
                                 states=verification.UNBOUND_ONLY)
    except ReplayedCode:
        return 3
    raise AssertionError("a replayed code was accepted")


def write_and_seal(
    database_url: str, master_key: str, index: int, rounds: int, barrier: Any, results: Any,
) -> None:
    """Write ``rounds`` × 3 events, sealing a few after each round, while a thread of this
    process seals all along; puts ``("done", events written, events sealed)``."""
    try:
        kinko = _kinko(database_url, master_key)
        actor = Actor(f"test:writer{index}", Channel.API)
        chooser = random.Random(index)
        stop = threading.Event()
        by_thread: list[int] = []

        def keep_sealing() -> None:
            count, limits = 0, random.Random(-index)
            while not stop.is_set():
                sealed = seal_pending(kinko.engine, kinko.seedbox, limit=limits.randint(1, 5))
                count += sealed
                if not sealed:
                    time.sleep(0.005)
            by_thread.append(count)

        barrier.wait(timeout=WAIT_SECONDS)
        sealer = threading.Thread(target=keep_sealing)
        sealer.start()
        written = sealed = 0
        try:
            for _ in range(rounds):
                written += _write_events(kinko, actor)
                sealed += seal_pending(kinko.engine, kinko.seedbox,
                                       limit=chooser.randint(1, 8))
        finally:
            stop.set()
            sealer.join(timeout=WAIT_SECONDS)
        kinko.close()
        results.put(("done", written, sealed + sum(by_thread)))
    except Exception as error:
        barrier.abort()
        results.put(("crash", repr(error), 0))


def write_while_the_head_is_locked(database_url: str, master_key: str, results: Any) -> None:
    """Write events and try to seal them; puts ``("done", written, sealed, seconds)``."""
    try:
        kinko = _kinko(database_url, master_key)
        started = time.monotonic()
        actor = Actor("test:writer", Channel.API)
        written = _write_events(kinko, actor) + _write_events(kinko, actor)
        sealed = seal_pending(kinko.engine, kinko.seedbox)
        results.put(("done", written, sealed, time.monotonic() - started))
        kinko.close()
    except Exception as error:
        results.put(("crash", repr(error), 0, 0.0))


# --- the tests -------------------------------------------------------------------------------


def count_events(engine: Engine, *, sealed: bool | None = None) -> int:
    query = select(func.count()).select_from(AuditEventRow)
    if sealed is not None:
        query = query.where(AuditEventRow.seq.is_not(None) if sealed
                            else AuditEventRow.seq.is_(None))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_four_processes_writing_and_sealing_at_once_leave_one_gapless_valid_chain(
    clean_engine: Engine, database_url: str,
) -> None:
    key = master_key_value(Keyring.generate())
    keys = SeedBox(Keyring.from_env_value(key))
    before = verify(clean_engine, keys)
    assert before.ok and before.unsealed == 0
    processes, rounds = 4, 25
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(processes), spawn.Queue()
    children = [
        spawn.Process(target=write_and_seal, daemon=True,
                      args=(database_url, key, index, rounds, barrier, results))
        for index in range(processes)
    ]
    for child in children:
        child.start()
    try:
        outcomes = [results.get(timeout=WAIT_SECONDS) for _ in children]
    finally:
        for child in children:
            child.join(timeout=WAIT_SECONDS)
            if child.is_alive():
                child.terminate()

    assert [outcome[0] for outcome in outcomes] == ["done"] * processes, outcomes
    written = sum(outcome[1] for outcome in outcomes)
    sealed_by_children = sum(outcome[2] for outcome in outcomes)
    assert written == processes * rounds * 3
    total = count_events(clean_engine)
    assert total == before.sealed + written
    # Whatever the children left (a sealer that found another at work just returned) ...
    leftover = seal_pending(clean_engine, keys, limit=total + 1)
    # ... every event was sealed exactly once, at one of the positions 1..N, none skipped.
    assert sealed_by_children + leftover == written
    with clean_engine.connect() as connection:
        positions = list(connection.execute(
            select(AuditEventRow.seq).order_by(AuditEventRow.seq)).scalars())
    assert positions == list(range(1, total + 1))
    report = verify(clean_engine, keys)
    assert (report.ok, report.sealed, report.unsealed, report.problems) == (True, total, 0, [])
    assert report.head_seq == total


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_writers_record_and_commit_events_while_a_sealer_holds_the_chain_head(
    clean_engine: Engine, database_url: str,
) -> None:
    key = master_key_value(Keyring.generate())
    keys = SeedBox(Keyring.from_env_value(key))
    seal_pending(clean_engine, keys)  # makes sure the head row exists
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    child = spawn.Process(
        target=write_while_the_head_is_locked, daemon=True, args=(database_url, key, results))
    with clean_engine.connect() as sealer:
        sealer.begin()
        # A sealer in the middle of its transaction: the head row is locked.
        sealer.execute(select(AuditChainHeadRow.last_seq).with_for_update())
        child.start()
        try:
            outcome = results.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            pytest.fail("the writer did not finish while the chain head was locked")
        finally:
            sealer.rollback()
            child.join(timeout=WAIT_SECONDS)
            if child.is_alive():
                child.terminate()

    status, written, sealed, seconds = outcome
    assert status == "done", outcome
    # The events were committed, and the writer's own sealer stepped aside at once.
    assert (written, sealed) == (6, 0)
    assert seconds < WAIT_SECONDS / 2
    assert count_events(clean_engine, sealed=False) == 6
    assert seal_pending(clean_engine, keys) == 6
    assert verify(clean_engine, keys).ok


@pytest.mark.postgresql_only
def test_an_event_that_commits_after_a_higher_id_was_sealed_gets_the_next_position(
    clean_engine: Engine,
) -> None:
    keys = SeedBox(Keyring.generate())
    row = {"occurred_at": START, "action": "token:issued", "outcome": "success",
           "actor": "operator", "channel": "cli", "contract_id": None, "serial": None,
           "reason": None}
    with clean_engine.connect() as slow:
        slow.begin()
        lower = slow.execute(insert(AuditEventRow).values(**row, **mac_values(keys, row))
                             .returning(AuditEventRow.id)).scalar_one()
        with clean_engine.begin() as fast:
            higher = fast.execute(insert(AuditEventRow).values(**row, **mac_values(keys, row))
                                  .returning(AuditEventRow.id)).scalar_one()
        assert lower < higher

        # The sealer sees only committed events: the higher id is sealed first ...
        assert seal_pending(clean_engine, keys) == 1
        slow.commit()
    # ... and the lower one, committed later, simply comes next in the chain.
    assert seal_pending(clean_engine, keys) == 1
    with clean_engine.connect() as connection:
        order = connection.execute(
            select(AuditEventRow.id, AuditEventRow.seq, AuditEventRow.prev_hash)
            .order_by(AuditEventRow.seq)).all()
    assert [(r.id, r.seq) for r in order] == [(higher, 1), (lower, 2)]
    assert order[0].prev_hash == GENESIS_HASH
    report = verify(clean_engine, keys)
    assert (report.ok, report.sealed) == (True, 2)
