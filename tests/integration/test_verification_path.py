"""The one verification path: one read, the domain's decision, one statement that settles it
— for right codes, wrong codes and replays alike — and a re-read when the token changed in
between. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, update

from kinko.domain import otp
from kinko.domain.errors import NotFound, ReplayedCode, TokenLocked, WrongCode
from kinko.domain.events import Action, Actor, AuditEvent, Channel, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.services.ports import TokenRef
from kinko.services.verification import verify_code
from kinko.store.rows import TokenRow
from kinko.store.seedbox import SealedSeed
from kinko.store.uow import SqlUnitOfWorkFactory
from tests.support import Harness

ACTOR = Actor.customer("1000000001", Channel.API)


@contextmanager
def statements(harness: Harness) -> Iterator[list[str]]:
    """The SQL statements the engine sends meanwhile (not the pool's liveness pings, nor
    SQLite's transaction control)."""
    seen: list[str] = []

    def record(conn: object, cursor: object, sql: str, *args: object) -> None:
        if not sql.strip().upper().startswith(("SELECT 1", "BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(" ".join(sql.split()))

    engine = harness.kinko.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def checks(harness: Harness, serial: str) -> list[AuditEvent]:
    with harness.ctx.uow() as uow:
        return [e for e in uow.audit.recent(limit=100, serial=serial)
                if e.action is Action.TOKEN_CODE_CHECKED]


def postgresql(harness: Harness) -> bool:
    return harness.kinko.engine.dialect.name == "postgresql"


def test_a_right_code_a_wrong_code_and_a_replay_each_take_one_read_and_one_statement(
    harness: Harness,
) -> None:
    h = harness
    issued = h.enroll(h.customer())
    ref = TokenRef(contract_id="1000000001")
    code = h.code(issued)
    counts = {}
    for label, given, error in [("right", code, None), ("replay", code, ReplayedCode),
                                ("wrong", h.wrong_code(issued), WrongCode)]:
        with statements(h) as seen:
            if error is None:
                accepted = verify_code(h.ctx, ref, given, actor=ACTOR, purpose="login")
                assert (accepted.serial, accepted.contract_id) == (issued.token.serial,
                                                                   "1000000001")
            else:
                with pytest.raises(error):
                    verify_code(h.ctx, ref, given, actor=ACTOR)
        counts[label] = len(seen)
        assert seen[0].startswith("SELECT")
    # PostgreSQL: the read, then the update and its audit event in one statement (or the
    # event alone, for a replay that changes nothing). SQLite: update and insert apart.
    settle = 1 if postgresql(h) else 2
    assert counts == {"right": 1 + settle, "wrong": 1 + settle, "replay": 2}
    assert [(e.outcome, e.reason) for e in checks(h, issued.token.serial)][:3] == [
        (Outcome.FAILURE, "wrong_code"), (Outcome.FAILURE, "replayed_code"),
        (Outcome.SUCCESS, "login")]


def test_a_wrong_code_costs_the_window_in_hmacs_and_nothing_more(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness
    issued = h.enroll(h.customer())
    wrong = h.wrong_code(issued)
    computed: list[int] = []
    real = otp.hotp

    def counting(key: bytes, counter: int, **kwargs: object) -> str:
        computed.append(counter)
        return real(key, counter, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(otp, "hotp", counting)
    with pytest.raises(WrongCode):
        verify_code(h.ctx, TokenRef(contract_id="1000000001"), wrong, actor=ACTOR)
    assert len(computed) == 2 * h.ctx.policy.window + 1


@pytest.mark.postgresql_only  # SQLite holds its one writer's lock from the read to the end
def test_a_check_that_loses_the_race_reads_again_and_decides_again(harness: Harness) -> None:
    h = harness
    issued = h.enroll(h.customer())
    code = h.code(issued)
    step = issued.token.params.step_at(h.clock.now.timestamp())
    engine = h.kinko.engine
    raced: list[bool] = []

    def another_process_spends_it(conn: object, cursor: object, sql: str, *a: object) -> None:
        # Between this check's read and its settling statement, another server process
        # accepts the same code: the token's version moves on.
        if sql.lstrip().upper().startswith(("UPDATE TOKENS", "WITH SETTLED")) and not raced:
            raced.append(True)
            with engine.begin() as other:
                other.execute(update(TokenRow).where(TokenRow.id == issued.token.id)
                              .values(last_step=step, version=TokenRow.version + 1))

    event.listen(engine, "before_cursor_execute", another_process_spends_it)
    try:
        with pytest.raises(ReplayedCode):
            verify_code(h.ctx, issued.token.id, code, actor=ACTOR)
    finally:
        event.remove(engine, "before_cursor_execute", another_process_spends_it)
    assert raced
    # The lost attempt wrote nothing; the second decision, a replay, is what was recorded.
    assert next((e.outcome, e.reason) for e in checks(h, issued.token.serial)) == (
        Outcome.FAILURE, "replayed_code")


def test_the_fifth_wrong_code_locks_with_its_event_and_the_sixth_finds_it_locked(
    harness: Harness,
) -> None:
    h = harness
    issued = h.enroll(h.customer())
    limit = h.ctx.policy.max_code_failures
    for _ in range(limit - 1):
        with pytest.raises(WrongCode):
            verify_code(h.ctx, issued.token.id, h.wrong_code(issued), actor=ACTOR)
    with pytest.raises(TokenLocked):
        verify_code(h.ctx, issued.token.id, h.wrong_code(issued), actor=ACTOR)
    with pytest.raises(TokenLocked):
        verify_code(h.ctx, issued.token.id, h.code(issued), actor=ACTOR)
    with h.ctx.uow() as uow:
        token = uow.tokens.get(issued.token.id)
        locked = [e for e in uow.audit.recent(limit=50, serial=issued.token.serial)
                  if e.action is Action.TOKEN_LOCKED]
    assert token is not None
    assert (token.state, token.failures) == (TokenState.LOCKED, limit)
    assert [e.reason for e in locked] == ["too_many_wrong_codes"]


def test_the_opened_seed_cache_follows_a_reseal(harness: Harness) -> None:
    h = harness
    issued = h.enroll(h.customer())
    factory = h.kinko.ctx.uow
    assert isinstance(factory, SqlUnitOfWorkFactory)
    cached = len(factory.opened_seeds)
    assert cached >= 1
    # A reseal gives the seed a new nonce: the cache keys on it, so the next check opens
    # the new sealed form (and a stale entry is never used for it).
    seedbox = h.kinko.seedbox
    with h.kinko.engine.begin() as connection:
        row = connection.execute(TokenRow.__table__.select().where(
            TokenRow.id == issued.token.id)).one()
        old = SealedSeed(row.seed_key_id, row.seed_nonce, row.seed_ciphertext)
        sealed = seedbox.seal(row.serial, seedbox.open(row.serial, old))
        connection.execute(update(TokenRow).where(TokenRow.id == issued.token.id).values(
            seed_key_id=sealed.key_id, seed_nonce=sealed.nonce,
            seed_ciphertext=sealed.ciphertext, version=TokenRow.version + 1))
    h.next_step()
    accepted = verify_code(h.ctx, issued.token.id, h.code(issued), actor=ACTOR)
    assert accepted.token_id == issued.token.id
    assert len(factory.opened_seeds) == cached + 1


def test_a_staff_or_unbound_token_is_not_found_by_serial(harness: Harness) -> None:
    h = harness
    unbound = h.issue()
    with pytest.raises(NotFound):
        verify_code(h.ctx, TokenRef(serial=unbound.token.serial), h.code(unbound),
                    actor=ACTOR)
