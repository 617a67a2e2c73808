"""The token lifecycle against a model: random sequences of the guide's flows and staff actions.

Hypothesis drives 利用開始, 利用中止, 交換, lost-phone calls, unlocks, code checks and the clock;
a plain model predicts every outcome (down to the error class), and after every step the
database itself is compared with the model and with the invariants of DESIGN.md.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select

from kinko.domain.errors import (
    InvalidTransition,
    KinkoError,
    NotCustomersToken,
    NotFound,
    OtpAlreadyInUse,
    OtpNotInUse,
    ReplayedCode,
    TokenLocked,
    TokenRevoked,
    TokenSuspended,
    WrongCode,
)
from kinko.domain.events import Action, Actor, Outcome
from kinko.domain.lifecycle import BOUND_STATES, TokenState
from kinko.domain.model import TokenOrigin
from kinko.domain.secrets import Code, Password, Seed
from kinko.services import enrollment, exchange, staff, stopping, verification
from kinko.services.issuance import IssuedToken, issue_token
from kinko.store.rows import AuditEventRow, Base, CustomerRow, TokenRow
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness, make_harness

CONTRACTS = ("3000000001", "3000000002", "3000000003")
STAFF = Actor.staff("tanaka")
MAX_FAILURES = 5  # the default policy; asserted when the machine starts

#: What a customer is told when a token is in a state that takes no codes.
STATE_ERRORS: dict[TokenState, type[KinkoError]] = {
    TokenState.LOCKED: TokenLocked,
    TokenState.SUSPENDED: TokenSuspended,
    TokenState.REVOKED: TokenRevoked,
    TokenState.UNBOUND: TokenRevoked,  # "this token cannot be used here"
}

T = TypeVar("T")


@dataclass
class ModelToken:
    issued: IssuedToken
    state: TokenState = TokenState.UNBOUND
    contract_id: str | None = None  # kept after the token is revoked, like the row's owner
    last_step: int | None = None
    failures: int = 0
    accepted_steps: set[int] = field(default_factory=set)

    @property
    def serial(self) -> str:
        return self.issued.token.serial

    def code_at_step(self, step: int) -> Code:
        params = self.issued.token.params
        return Code(params.code_at_step(self.issued.seed.reveal(), step))


class Mismatch(AssertionError):
    """kinko did something other than what the model predicted."""


class TokenLifecycle(RuleBasedStateMachine):
    """One example: empty tables, a fresh clock, three customers, then up to N random steps."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        # Hundreds of password checks for three contracts at one instant: the login
        # throttles are not part of this model (tests/web/test_login_limits.py has them).
        self.h: Harness = make_harness(engine, login_limit_contract_attempts=1_000_000,
                                       login_limit_address_attempts=1_000_000)
        assert self.h.ctx.policy.max_code_failures == MAX_FAILURES
        assert self.h.ctx.policy.window == 1
        self.customer_ids = {c: self.h.customer(c).id for c in CONTRACTS}
        self.login_otp = dict.fromkeys(CONTRACTS, False)
        self.model: dict[str, ModelToken] = {}
        #: Every (serial, step) kinko ever accepted a code for, in the order it did. (Kept in
        #: order, not sorted: serials are random, and draws must not depend on them.)
        self.accepted: list[tuple[str, int]] = []

    # --- the model's helpers -------------------------------------------------------------

    @property
    def now_step(self) -> int:
        return self.h.ctx.policy.totp.step_at(self.h.clock.now.timestamp())

    def bound(self, contract_id: str) -> ModelToken | None:
        bound = [t for t in self.model.values()
                 if t.contract_id == contract_id and t.state in BOUND_STATES]
        assert len(bound) <= 1, f"the model bound two tokens to {contract_id}"
        return bound[0] if bound else None

    def expect(self, expected: type[KinkoError] | None, call: Callable[[], T]) -> T | None:
        """Run ``call``; it must raise exactly ``expected``, or succeed when that is None."""
        try:
            result = call()
        except KinkoError as error:
            if type(error) is not expected:
                wanted = expected.__name__ if expected else "success"
                raise Mismatch(f"raised {type(error).__name__}, the model expected {wanted}"
                               ) from error
            return None
        if expected is not None:
            raise Mismatch(f"succeeded, the model expected {expected.__name__}")
        return result

    def accept(self, token: ModelToken, step: int) -> None:
        """Record that kinko accepted a code of ``token`` for ``step``."""
        if (token.serial, step) in self.accepted:
            raise Mismatch(f"step {step} of {token.serial} was accepted a second time")
        self.accepted.append((token.serial, step))
        token.accepted_steps.add(step)
        token.last_step = step
        token.failures = 0

    def predict_correct_code(
        self, token: ModelToken, usable: set[TokenState]
    ) -> type[KinkoError] | None:
        """The outcome of the code ``token`` shows now; applies it to the model on success."""
        if token.state not in usable:
            return STATE_ERRORS[token.state]
        if token.last_step is not None and self.now_step <= token.last_step:
            return ReplayedCode
        self.accept(token, self.now_step)
        return None

    def predict_wrong_code(self, token: ModelToken, usable: set[TokenState]) -> type[KinkoError]:
        """The outcome of a code matching no step; counts it in the model."""
        if token.state not in usable:
            return STATE_ERRORS[token.state]
        token.failures += 1
        if token.failures < MAX_FAILURES:
            return WrongCode
        if token.state is TokenState.UNBOUND:  # nobody owns it to call the bank: burnt
            token.state = TokenState.REVOKED
            return TokenRevoked
        token.state = TokenState.LOCKED
        return TokenLocked

    def wrong_code(self, token: ModelToken) -> Code:
        near = {token.code_at_step(s).reveal() for s in range(self.now_step - 3,
                                                                  self.now_step + 4)}
        return Code(next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near))

    def shown_now(self, token: ModelToken) -> Code:
        return self.unambiguous_code(token, self.now_step)

    def unambiguous_code(self, token: ModelToken, step: int) -> Code:
        """The code of ``step``. An example where it is also the code of another step in the
        window (about one in a million) is dropped: the model does not predict coincidences."""
        code = token.code_at_step(step).reveal()
        others = range(self.now_step - 1, self.now_step + 2)
        assume(all(token.code_at_step(s).reveal() != code for s in others if s != step))
        return Code(code)

    def staff_may_act(self, token: ModelToken) -> bool:
        """Staff act on customers' tokens only, never on one nobody registered."""
        return token.contract_id is not None

    def staff_refusal(self, token: ModelToken) -> type[KinkoError] | None:
        return None if self.staff_may_act(token) else NotCustomersToken

    def begin_prediction(self, contract_id: str) -> type[KinkoError] | None:
        """利用中止 and 交換 start alike: an active token must be in use."""
        token = self.bound(contract_id)
        if token is None:
            return OtpNotInUse
        if token.state is not TokenState.ACTIVE:
            return STATE_ERRORS[token.state]
        return None

    # --- choosing what to act on -------------------------------------------------------------
    # Half the draws go to the interesting candidates (a customer with a token in use, a
    # locked token for unlock, ...), the rest to anything, so that refusals are tried as well.

    def pick(self, data: st.DataObject, preferred: list[str], anything: list[str],
             label: str) -> str:
        options = st.sampled_from(anything)
        if preferred:
            options = st.sampled_from(preferred) | options
        return data.draw(options, label=label)

    def pick_contract(self, data: st.DataObject, *, in_use: bool) -> str:
        preferred = [c for c in CONTRACTS if (self.bound(c) is not None) == in_use]
        return self.pick(data, preferred, list(CONTRACTS), "contract_id")

    def pick_serial(self, data: st.DataObject, *states: TokenState) -> str:
        preferred = [s for s, t in self.model.items() if t.state in states]
        return self.pick(data, preferred, list(self.model), "serial")

    def has_tokens(self) -> bool:
        return bool(self.model)

    def some_token_is(self, state: TokenState) -> bool:
        # Staff undo a suspension or a lock only once there is one; the refusals are still
        # tried, on the other tokens drawn from "anything".
        return any(t.state is state for t in self.model.values())

    # --- rules -------------------------------------------------------------------------------

    @rule()
    def activate_an_app(self) -> None:
        """An app is activated (or a token issued) that nobody registers for now."""
        self.new_token()

    def new_token(self) -> str:
        # Seeds from a counter, so that an example replays exactly when Hypothesis shrinks it
        # (serials stay random: nothing is drawn or decided by them).
        seed = Seed(hashlib.sha256(b"lifecycle token %d" % len(self.model)).digest()[:20])
        issued = issue_token(self.h.ctx, TokenOrigin.ISSUED, seed=seed)
        self.model[issued.token.serial] = ModelToken(issued)
        return issued.token.serial

    @initialize()
    def a_first_customer_uses_otp(self) -> None:
        """Every example starts with one token in use, so that most steps act on something."""
        self.enroll_with(CONTRACTS[0], self.new_token(), login_otp=True, mistakes=0)

    @rule(data=st.data(), new_phone=st.booleans(), login_otp=st.booleans(),
          mistakes=st.integers(min_value=0, max_value=MAX_FAILURES))
    def enroll(self, data: st.DataObject, new_phone: bool, login_otp: bool,
               mistakes: int) -> None:
        """利用開始 with the app of a new phone, or with any serial kinko ever issued."""
        serial = self.new_token() if new_phone or not self.model else self.pick_serial(
            data, TokenState.UNBOUND)
        self.enroll_with(self.pick_contract(data, in_use=False), serial,
                         login_otp=login_otp, mistakes=mistakes)

    def enroll_with(self, contract_id: str, serial: str, *, login_otp: bool,
                    mistakes: int) -> None:
        """利用開始: contract ID + login password; serial + code, mistyped ``mistakes`` times
        before the right one; the login-OTP choice, confirmation password, 登録."""
        token = self.model[serial]
        ctx = self.h.ctx
        begun = self.expect(OtpAlreadyInUse if self.bound(contract_id) else None,
                            lambda: enrollment.begin(ctx, contract_id, Password(LOGIN_PASSWORD)))
        if begun is None:
            return
        confirmed = None
        for right_code in [False] * mistakes + [True]:
            if token.state is not TokenState.UNBOUND:
                # A bound or revoked serial (burnt by guesses, too) reads as unknown.
                self.expect(NotFound, lambda: enrollment.confirm_token(
                    ctx, begun, serial, self.wrong_code(token)))
                return
            if right_code:
                expected = self.predict_correct_code(token, {TokenState.UNBOUND})
                code = self.shown_now(token)
            else:
                expected = self.predict_wrong_code(token, {TokenState.UNBOUND})
                code = self.wrong_code(token)
            confirmed = self.expect(
                expected, partial(enrollment.confirm_token, ctx, begun, serial, code))
        if confirmed is None:
            return
        self.expect(None, lambda: enrollment.register(
            ctx, confirmed, login_otp_required=login_otp,
            confirmation_password=Password(CONFIRMATION_PASSWORD)))
        token.state, token.contract_id = TokenState.ACTIVE, contract_id
        self.login_otp[contract_id] = login_otp

    @rule(data=st.data())
    def stop(self, data: st.DataObject) -> None:
        """利用中止: contract ID + login password, then the code + confirmation password."""
        contract_id = self.pick_contract(data, in_use=True)
        ctx = self.h.ctx
        begun = self.expect(self.begin_prediction(contract_id),
                            lambda: stopping.begin(ctx, contract_id, Password(LOGIN_PASSWORD)))
        if begun is None:
            return
        token = self.bound(contract_id)
        assert token is not None
        code = self.shown_now(token)
        expected = self.predict_correct_code(token, {TokenState.ACTIVE})
        self.expect(expected, lambda: stopping.stop(ctx, begun, code,
                                                    Password(CONFIRMATION_PASSWORD)))
        if expected is None:
            token.state = TokenState.REVOKED
            self.login_otp[contract_id] = False

    @rule(data=st.data())
    def exchange_to_a_new_phone(self, data: st.DataObject) -> None:
        """交換: the new phone's app is set up first, then the old code, then the new one."""
        contract_id = self.pick_contract(data, in_use=True)
        ctx = self.h.ctx
        new = self.model[self.new_token()]
        begun = self.expect(self.begin_prediction(contract_id),
                            lambda: exchange.begin(ctx, contract_id, Password(LOGIN_PASSWORD)))
        if begun is None:
            return
        old = self.bound(contract_id)
        assert old is not None
        old_code = self.shown_now(old)
        confirmed = self.expect(self.predict_correct_code(old, {TokenState.ACTIVE}),
                                lambda: exchange.confirm_old_token(ctx, begun, old_code))
        if confirmed is None:
            return
        new_code = self.shown_now(new)
        self.expect(self.predict_correct_code(new, {TokenState.UNBOUND}),
                    lambda: exchange.register_new_token(ctx, confirmed, new.serial, new_code))
        old.state = TokenState.REVOKED
        new.state, new.contract_id = TokenState.ACTIVE, contract_id

    @precondition(has_tokens)
    @rule(data=st.data(), revoke=st.booleans())
    def lose_the_phone(self, data: st.DataObject, revoke: bool) -> None:
        """The customer calls: staff suspend the token, and maybe revoke it for good."""
        token = self.model[serial := self.pick_serial(data, *BOUND_STATES)]
        ctx = self.h.ctx
        suspendable = token.state is TokenState.ACTIVE and self.staff_may_act(token)
        self.expect(self.staff_refusal(token) or (None if suspendable else InvalidTransition),
                    lambda: staff.suspend(ctx, serial, reason="紛失届", actor=STAFF))
        if suspendable:
            token.state = TokenState.SUSPENDED
        if not revoke:
            return
        revocable = token.state is not TokenState.REVOKED and self.staff_may_act(token)
        self.expect(self.staff_refusal(token) or (None if revocable else InvalidTransition),
                    lambda: staff.revoke(ctx, serial, reason="紛失届", actor=STAFF))
        if revocable:
            token.state = TokenState.REVOKED
            if token.contract_id is not None:
                self.login_otp[token.contract_id] = False

    @precondition(lambda self: self.some_token_is(TokenState.SUSPENDED))
    @rule(data=st.data())
    def phone_found(self, data: st.DataObject) -> None:
        """Staff resume a suspended token (its count of wrong codes stays as it was)."""
        token = self.model[serial := self.pick_serial(data, TokenState.SUSPENDED)]
        suspended = token.state is TokenState.SUSPENDED and self.staff_may_act(token)
        self.expect(self.staff_refusal(token) or (None if suspended else InvalidTransition),
                    lambda: staff.resume(self.h.ctx, serial, reason="発見", actor=STAFF))
        if suspended:
            token.state = TokenState.ACTIVE

    @precondition(lambda self: self.some_token_is(TokenState.LOCKED))
    @rule(data=st.data())
    def unlock(self, data: st.DataObject) -> None:
        token = self.model[serial := self.pick_serial(data, TokenState.LOCKED)]
        locked = token.state is TokenState.LOCKED and self.staff_may_act(token)
        self.expect(self.staff_refusal(token) or (None if locked else InvalidTransition),
                    lambda: staff.unlock_token(self.h.ctx, serial, reason="誤入力ロック",
                                               actor=STAFF))
        if locked:
            token.state, token.failures = TokenState.ACTIVE, 0

    @precondition(has_tokens)
    @rule(data=st.data(), wait=st.sampled_from([0, 30, 90]),
          times=st.integers(min_value=1, max_value=2))
    def use_the_otp(self, data: st.DataObject, wait: int, times: int) -> None:
        """``wait`` seconds later the customer logs in or pays with the code shown now (and may
        press the button twice): through the one verification path, accepted at most once."""
        self.h.clock.advance(wait)
        self.check_codes(self.pick_serial(data, TokenState.ACTIVE), right_code=True,
                         times=times)

    @precondition(has_tokens)
    @rule(data=st.data(), times=st.integers(min_value=1, max_value=MAX_FAILURES))
    def mistype_the_otp(self, data: st.DataObject, times: int) -> None:
        """Codes that match no step, ``times`` in a row: counted, and locking at the limit."""
        self.check_codes(self.pick_serial(data, TokenState.ACTIVE), right_code=False,
                         times=times)

    def check_codes(self, serial: str, *, right_code: bool, times: int) -> None:
        token = self.model[serial]
        step = self.now_step
        code = self.shown_now(token) if right_code else self.wrong_code(token)
        for _ in range(times):
            state_before = token.state
            if right_code:
                expected = self.predict_correct_code(token, {TokenState.ACTIVE})
            else:
                expected = self.predict_wrong_code(token, {TokenState.ACTIVE})
            match = self.expect(expected, lambda: verification.verify_code(
                self.h.ctx, self.token_id(serial), code, actor=STAFF))
            if match is not None:
                # Only an active token ever verifies through this path.
                assert state_before is TokenState.ACTIVE, f"a {state_before} token verified"
                assert (match.step, match.drift) == (step, 0)

    @precondition(lambda self: bool(self.accepted))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """Send again a code kinko once accepted (an eavesdropper, or a double submit)."""
        serial, step = data.draw(st.sampled_from(self.accepted), label="accepted")
        token = self.model[serial]
        assert token.last_step is not None and step <= token.last_step
        if token.state is not TokenState.ACTIVE:
            expected: type[KinkoError] = STATE_ERRORS[token.state]
        elif self.now_step - step <= 1:
            expected = ReplayedCode  # still inside the window, but spent
        else:
            expected = self.predict_wrong_code(token, {TokenState.ACTIVE})  # too old: wrong
        self.expect(expected, lambda: verification.verify_code(
            self.h.ctx, self.token_id(serial), self.unambiguous_code(token, step), actor=STAFF))

    @rule(seconds=st.integers(min_value=30, max_value=300))
    def time_passes(self, seconds: int) -> None:
        self.h.clock.advance(seconds)

    def token_id(self, serial: str) -> int:
        return self.model[serial].issued.token.id

    # --- invariants, read straight from the database ----------------------------------------

    @invariant()
    def the_database_matches_the_model(self) -> None:
        with self.engine.connect() as connection:
            tokens = connection.execute(select(
                TokenRow.serial, TokenRow.state, TokenRow.customer_id, TokenRow.last_step,
                TokenRow.failures, TokenRow.drift,
            )).all()
            bound_per_customer = connection.execute(
                select(TokenRow.customer_id, func.count())
                .where(TokenRow.state.in_([s.value for s in BOUND_STATES]))
                .group_by(TokenRow.customer_id)
            ).all()
            login_otp = dict(connection.execute(
                select(CustomerRow.contract_id, CustomerRow.login_otp_required)).all())
            successes = Counter(dict(connection.execute(
                select(AuditEventRow.serial, func.count())
                .where(AuditEventRow.action == Action.TOKEN_CODE_CHECKED.value,
                       AuditEventRow.outcome == Outcome.SUCCESS.value)
                .group_by(AuditEventRow.serial)
            ).all()))

        # No contract ever has two tokens in a bound state (active, locked, suspended).
        assert all(count == 1 for _, count in bound_per_customer), bound_per_customer
        # Every token is where the model says, with the model's owner, replay and fail state.
        assert {row.serial for row in tokens} == set(self.model)
        for row in tokens:
            token = self.model[row.serial]
            owner = self.customer_ids[token.contract_id] if token.contract_id else None
            stored = (TokenState(row.state), row.customer_id, row.last_step, row.failures,
                      row.drift)
            assert stored == (token.state, owner, token.last_step, token.failures, 0), (
                f"token {row.serial}: stored {stored}, model "
                f"{(token.state, owner, token.last_step, token.failures, 0)}"
            )
        # A step is accepted at most once, and every acceptance is in the audit trail.
        assert successes == Counter({t.serial: len(t.accepted_steps)
                                     for t in self.model.values() if t.accepted_steps})
        assert login_otp == self.login_otp


def test_the_token_lifecycle_follows_the_model(clean_engine: Engine, backend: str) -> None:
    # 5-10 s a leg on a 2-core machine; PostgreSQL answers over a socket, so it runs fewer.
    examples = 50 if backend == "sqlite" else 25

    class OnThisDatabase(TokenLifecycle):
        def __init__(self) -> None:
            super().__init__(clean_engine)

    run_state_machine_as_test(
        OnThisDatabase,
        settings=settings(
            max_examples=examples,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
