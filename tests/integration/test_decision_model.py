"""The one verification decision against a reference model, on SQLite and PostgreSQL.

Hypothesis draws sequences of clock moves, codes of nearby steps, wrong codes, resent codes,
staff suspending and locking the token, and the same code sent by several threads at once.
The model is a dict of the token's last step, drift, failure count and state, written from
the bank's rules (DESIGN.md), not from kinko's code: after every step kinko's answer and the
stored token must equal the model's.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from kinko.domain.errors import (
    KinkoError,
    ReplayedCode,
    TokenLocked,
    TokenSuspended,
    WrongCode,
)
from kinko.domain.events import Actor, Channel
from kinko.domain.lifecycle import TokenState
from kinko.domain.secrets import Code
from kinko.services.verification import verify_code
from kinko.store.rows import Base
from tests.support import Harness, make_harness

ACTOR = Actor.customer("1000000001", Channel.API)
WINDOW, LIMIT, PERIOD = 1, 5, 30


@dataclass
class Model:
    """What the bank's rules say the token is."""

    last_step: int | None
    drift: int = 0
    failures: int = 0
    state: TokenState = TokenState.ACTIVE
    accepted: list[int] = field(default_factory=list)

    def check(self, step_of_code: int | None, now_step: int) -> type[KinkoError] | None:
        """The answer to a code of ``step_of_code`` (None: a code of no nearby step)."""
        if self.state is TokenState.LOCKED:
            return TokenLocked
        if self.state is TokenState.SUSPENDED:
            return TokenSuspended
        centre = now_step + self.drift
        in_window = step_of_code is not None and abs(step_of_code - centre) <= WINDOW
        if in_window and self.last_step is not None and step_of_code <= self.last_step:
            return ReplayedCode
        if not in_window:
            self.failures += 1
            if self.failures >= LIMIT:
                self.state = TokenState.LOCKED
                return TokenLocked
            return WrongCode
        assert step_of_code is not None
        self.last_step, self.drift, self.failures = step_of_code, step_of_code - now_step, 0
        self.accepted.append(step_of_code)
        return None


operations = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.sampled_from([1, 15, 29, 30, 31, 60, 95, 300])),
        st.tuples(st.just("code"), st.integers(-3, 3)),
        st.tuples(st.just("wrong"), st.integers(1, 6)),  # that many wrong codes in a row
        st.tuples(st.just("resend"), st.just(0)),
        st.tuples(st.just("race"), st.integers(-1, 1)),
        st.tuples(st.just("suspend"), st.just(0)),
        st.tuples(st.just("resume"), st.just(0)),
        st.tuples(st.just("unlock"), st.just(0)),
    ),
    min_size=1, max_size=25,
)


def test_every_decision_matches_the_model(clean_engine: Engine, backend: str) -> None:
    examples = 40 if backend == "sqlite" else 20

    @settings(max_examples=examples, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(ops=operations)
    def run(ops: list[tuple[str, int]]) -> None:
        with clean_engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        h = make_harness(clean_engine)
        assert (h.ctx.policy.window, h.ctx.policy.max_code_failures) == (WINDOW, LIMIT)
        issued = h.enroll(h.customer())
        with h.ctx.uow() as uow:
            stored = uow.tokens.get(issued.token.id)
        assert stored is not None
        model = Model(last_step=stored.last_step, drift=stored.drift)
        seed, params = issued.seed.reveal(), issued.token.params
        last_sent: tuple[Code, int] | None = None

        def now_step() -> int:
            return params.step_at(h.clock.now.timestamp())

        def send(code: Code) -> type[KinkoError] | None:
            try:
                verify_code(h.ctx, issued.token.id, code, actor=ACTOR)
            except KinkoError as error:
                return type(error)
            return None

        for op, value in ops:
            if op == "wait":
                h.clock.advance(value)
                continue
            if op in ("suspend", "resume", "unlock"):
                _staff(h, issued.token.id, op, model)
                continue
            if op == "race":
                step = now_step() + model.drift + value
                code = Code(params.code_at_step(seed, step))
                outcomes = _race(h, issued.token.id, code, threads=4)
                first = model.check(step, now_step())
                others = [model.check(step, now_step()) for _ in range(3)]
                assert Counter(outcomes) == Counter([first, *others]), (op, value)
                last_sent = (code, step)
                continue
            step: int | None
            if op == "resend":
                if last_sent is None:
                    continue
                code, step = last_sent
            elif op == "wrong":
                for _ in range(value - 1):
                    assert send(h.wrong_code(issued)) is model.check(None, now_step()), op
                code, step = h.wrong_code(issued), None
            else:
                step = now_step() + value
                code = Code(params.code_at_step(seed, step))
            expected = model.check(step, now_step())
            assert send(code) is expected, (op, value)
            if step is not None:
                last_sent = (code, step)
            _assert_stored(h, issued.token.id, model)
        _assert_stored(h, issued.token.id, model)

    run()


def _race(h: Harness, token_id: int, code: Code, *, threads: int) -> list[type[KinkoError] | None]:
    """The same code from ``threads`` threads released together."""
    barrier = threading.Barrier(threads)
    outcomes: list[type[KinkoError] | None] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait(timeout=30)
        try:
            verify_code(h.ctx, token_id, code, actor=ACTOR)
            outcome: type[KinkoError] | None = None
        except KinkoError as error:
            outcome = type(error)
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def _staff(h: Harness, token_id: int, op: str, model: Model) -> None:
    """Bank staff change the token's state (as the console does, through the lifecycle)."""
    moves = {"suspend": ({TokenState.ACTIVE}, TokenState.SUSPENDED),
             "resume": ({TokenState.SUSPENDED}, TokenState.ACTIVE),
             "unlock": ({TokenState.LOCKED}, TokenState.ACTIVE)}
    from_states, to_state = moves[op]
    with h.ctx.uow() as uow:
        changed = uow.tokens.change_state(token_id, from_states=from_states, to_state=to_state,
                                          now=datetime.now(UTC), reset_failures=op == "unlock")
        uow.commit()
    assert changed == (model.state in from_states)
    if changed:
        model.state = to_state
        if op == "unlock":
            model.failures = 0


def _assert_stored(h: Harness, token_id: int, model: Model) -> None:
    with h.ctx.uow() as uow:
        token = uow.tokens.get(token_id)
    assert token is not None
    assert (token.last_step, token.drift, token.failures, token.state) == (
        model.last_step, model.drift, model.failures, model.state)


pytestmark = pytest.mark.slow
