"""The bank guide's flows through the services, on the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from kinko.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    ReplayedCode,
    TokenExpired,
    TokenLocked,
    TokenRevoked,
    TokenSuspended,
    WrongCode,
    WrongPassword,
)
from kinko.domain.events import Action, Actor, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.secrets import Code, Password
from kinko.services import (
    authentication,
    enrollment,
    exchange,
    staff,
    stopping,
    transactions,
    verification,
)
from kinko.services.issuance import expire_unbound
from kinko.services.transactions import Method
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness

STAFF = Actor.staff("suzuki")


def token_state(h: Harness, serial: str) -> TokenState:
    with h.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
    assert token is not None
    return token.state


def events(h: Harness, action: Action) -> list:
    with h.ctx.uow() as uow:
        return [e for e in uow.audit.recent(limit=500) if e.action is action]


def test_enroll_binds_the_token_and_transactions_then_need_the_otp(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    assert transactions.required_method(h.ctx, customer.id) is Method.CONFIRMATION_PASSWORD

    issued = h.enroll(customer, login_otp=True)

    assert token_state(h, issued.token.serial) is TokenState.ACTIVE
    assert transactions.required_method(h.ctx, customer.id) is Method.OTP
    with pytest.raises(InvalidInput):
        transactions.authorize(h.ctx, customer.id, purpose="transfer",
                               confirmation_password=Password(CONFIRMATION_PASSWORD))
    method = transactions.authorize(h.ctx, customer.id, purpose="transfer", code=h.code(issued))
    assert method is Method.OTP
    assert events(h, Action.TOKEN_BOUND)[0].contract_id == customer.contract_id


def test_enroll_accepts_full_width_digits_and_separators(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.issue()
    full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    serial = issued.token.serial
    typed_serial = f"{serial[:4]}-{serial[4:8]}　{serial[8:]}".translate(full_width)
    started = enrollment.begin(h.ctx, "１０００ ０００ ００１", Password(LOGIN_PASSWORD))
    confirmed = enrollment.confirm_token(
        h.ctx, started, typed_serial, Code(h.code(issued).reveal().translate(full_width))
    )
    token = enrollment.register(h.ctx, confirmed, login_otp_required=False,
                                confirmation_password=Password(CONFIRMATION_PASSWORD))
    assert token.customer_id == customer.id


def test_enroll_refuses_a_second_token_for_the_same_contract(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    h.enroll(customer)
    with pytest.raises(Conflict):
        enrollment.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))


def test_enroll_with_a_wrong_confirmation_password_leaves_the_token_unbound(
    harness: Harness,
) -> None:
    h = harness
    customer = h.customer()
    issued = h.issue()
    started = enrollment.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    confirmed = enrollment.confirm_token(h.ctx, started, issued.token.serial, h.code(issued))
    with pytest.raises(WrongPassword):
        enrollment.register(h.ctx, confirmed, login_otp_required=False,
                            confirmation_password=Password("not-the-one"))
    assert token_state(h, issued.token.serial) is TokenState.UNBOUND


def test_enroll_cannot_bind_a_token_that_is_already_bound(harness: Harness) -> None:
    h = harness
    first, second = h.customer("1000000001"), h.customer("1000000002")
    issued = h.enroll(first)
    started = enrollment.begin(h.ctx, second.contract_id, Password(LOGIN_PASSWORD))
    with pytest.raises(NotFound):
        enrollment.confirm_token(h.ctx, started, issued.token.serial, h.code(issued))


def test_unbound_tokens_expire_after_the_binding_period(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.issue()
    started = enrollment.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    h.clock.advance(h.ctx.policy.unbound_ttl.total_seconds() + 1)
    with pytest.raises(TokenExpired):
        enrollment.confirm_token(h.ctx, started, issued.token.serial, h.code(issued))
    assert token_state(h, issued.token.serial) is TokenState.REVOKED
    assert expire_unbound(h.ctx) == 0  # already expired by the attempt
    other = h.issue()
    h.clock.advance(h.ctx.policy.unbound_ttl.total_seconds())
    assert expire_unbound(h.ctx) == 1
    assert token_state(h, other.token.serial) is TokenState.REVOKED


def test_a_code_is_never_accepted_twice(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    code = h.code(issued)
    transactions.authorize(h.ctx, customer.id, purpose="transfer", code=code)
    with pytest.raises(ReplayedCode):
        transactions.authorize(h.ctx, customer.id, purpose="transfer", code=code)
    # An older code inside the window is spent too.
    with pytest.raises(ReplayedCode):
        transactions.authorize(h.ctx, customer.id, purpose="transfer",
                               code=h.code(issued, steps=-1))


def test_the_login_code_cannot_be_reused_for_a_transfer(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer, login_otp=True)
    code = h.code(issued)
    started = authentication.start_login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    assert started.otp_required
    authentication.finish_login(h.ctx, started, code)
    with pytest.raises(ReplayedCode):
        transactions.authorize(h.ctx, customer.id, purpose="transfer", code=code)


def test_login_without_login_otp_needs_only_the_password(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    h.enroll(customer, login_otp=False)
    logged_in = authentication.login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    assert logged_in.customer_id == customer.id
    with pytest.raises(WrongPassword):
        authentication.login(h.ctx, customer.contract_id, Password("wrong-password"))
    with pytest.raises(WrongPassword):
        authentication.login(h.ctx, "9999999999", Password(LOGIN_PASSWORD))


def test_drift_is_learned_from_each_success(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    # The phone runs one step fast: its code matches at t+1 and the drift is learned ...
    transactions.authorize(h.ctx, customer.id, purpose="t", code=h.code(issued, steps=1))
    h.clock.advance(60)
    # ... so that later a code two steps ahead (t+1 around a drift of +1) still passes.
    transactions.authorize(h.ctx, customer.id, purpose="t", code=h.code(issued, steps=2))
    with h.ctx.uow() as uow:
        assert uow.tokens.by_serial(issued.token.serial).drift == 2  # type: ignore[union-attr]


def test_five_wrong_codes_lock_the_token_and_passwords_do_not(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    for _ in range(h.ctx.policy.max_password_failures - 1):
        with pytest.raises(WrongPassword):
            authentication.login(h.ctx, customer.contract_id, Password("wrong-password"))
    assert token_state(h, issued.token.serial) is TokenState.ACTIVE

    for attempt in range(1, 6):
        expected = TokenLocked if attempt == 5 else WrongCode
        with pytest.raises(expected):
            transactions.authorize(h.ctx, customer.id, purpose="t", code=h.wrong_code(issued))
    assert token_state(h, issued.token.serial) is TokenState.LOCKED
    # Locked means locked: even the right code fails, and the password is no way around it.
    with pytest.raises(TokenLocked):
        transactions.authorize(h.ctx, customer.id, purpose="t", code=h.code(issued))
    with pytest.raises(InvalidInput):
        transactions.authorize(h.ctx, customer.id, purpose="t",
                               confirmation_password=Password(CONFIRMATION_PASSWORD))
    assert len(events(h, Action.TOKEN_LOCKED)) == 1

    staff.unlock_token(h.ctx, issued.token.serial, reason="誤入力ロック", actor=STAFF)
    h.next_step()
    transactions.authorize(h.ctx, customer.id, purpose="t", code=h.code(issued))


def test_a_success_resets_the_count_of_wrong_codes(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    for _ in range(4):
        with pytest.raises(WrongCode):
            transactions.authorize(h.ctx, customer.id, purpose="t", code=h.wrong_code(issued))
    transactions.authorize(h.ctx, customer.id, purpose="t", code=h.code(issued))
    for _ in range(4):
        with pytest.raises(WrongCode):
            transactions.authorize(h.ctx, customer.id, purpose="t", code=h.wrong_code(issued))
    assert token_state(h, issued.token.serial) is TokenState.ACTIVE


def test_stop_returns_the_customer_to_the_confirmation_password(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer, login_otp=True)
    started = stopping.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    stopping.stop(h.ctx, started, h.code(issued), Password(CONFIRMATION_PASSWORD))

    assert token_state(h, issued.token.serial) is TokenState.REVOKED
    assert transactions.required_method(h.ctx, customer.id) is Method.CONFIRMATION_PASSWORD
    started_login = authentication.start_login(h.ctx, customer.contract_id,
                                               Password(LOGIN_PASSWORD))
    assert not started_login.otp_required
    assert transactions.authorize(
        h.ctx, customer.id, purpose="t", confirmation_password=Password(CONFIRMATION_PASSWORD)
    ) is Method.CONFIRMATION_PASSWORD
    # A revoked token never verifies again.
    h.next_step()
    with pytest.raises(TokenRevoked):
        verification.verify_code(h.ctx, issued.token.id, h.code(issued), actor=STAFF)


def test_exchange_keeps_old_token_until_new_one_is_registered(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    old = h.enroll(customer)
    new = h.issue()

    started = exchange.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    confirmed = exchange.confirm_old_token(h.ctx, started, h.code(old))
    h.next_step()
    # Between ④ and ⑤ the old token still authorises transactions.
    transactions.authorize(h.ctx, customer.id, purpose="t", code=h.code(old))
    with pytest.raises(WrongCode):
        exchange.register_new_token(h.ctx, confirmed, new.token.serial, h.wrong_code(new))
    assert token_state(h, old.token.serial) is TokenState.ACTIVE

    h.next_step()
    exchange.register_new_token(h.ctx, confirmed, new.token.serial, h.code(new))
    assert token_state(h, old.token.serial) is TokenState.REVOKED
    assert token_state(h, new.token.serial) is TokenState.ACTIVE
    h.next_step()
    transactions.authorize(h.ctx, customer.id, purpose="t", code=h.code(new))
    with pytest.raises(WrongCode):
        transactions.authorize(h.ctx, customer.id, purpose="t", code=h.code(old))


def test_a_suspended_token_refuses_codes_until_resumed(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer, login_otp=True)
    staff.suspend(h.ctx, issued.token.serial, reason="紛失届", actor=STAFF)
    with pytest.raises(TokenSuspended):
        authentication.login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD),
                             h.code(issued))
    staff.resume(h.ctx, issued.token.serial, reason="本人申出", actor=STAFF)
    h.next_step()
    authentication.login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD), h.code(issued))
    suspended = events(h, Action.TOKEN_SUSPENDED)[0]
    assert (suspended.actor, suspended.reason) == ("staff:suzuki", "紛失届")


def test_revoke_for_a_lost_phone_lets_the_customer_enroll_a_new_one(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    lost = h.enroll(customer, login_otp=True)
    staff.suspend(h.ctx, lost.token.serial, reason="紛失届", actor=STAFF)
    staff.revoke(h.ctx, lost.token.serial, reason="紛失届", actor=STAFF)
    assert transactions.required_method(h.ctx, customer.id) is Method.CONFIRMATION_PASSWORD
    replacement = h.enroll(customer)
    assert token_state(h, replacement.token.serial) is TokenState.ACTIVE


def test_staff_resync_recovers_a_far_drifted_token(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    far = 40  # 20 minutes fast: far outside the ±1 window
    with pytest.raises(WrongCode):
        transactions.authorize(h.ctx, customer.id, purpose="t",
                               code=h.code(issued, steps=far))
    token = staff.resync(h.ctx, issued.token.serial, h.code(issued, steps=far),
                         h.code(issued, steps=far + 1), reason="本人申出", actor=STAFF)
    assert token.drift == far + 1
    assert token.failures == 0
    h.next_step()
    transactions.authorize(h.ctx, customer.id, purpose="t", code=h.code(issued, steps=far + 1))


def test_illegal_staff_transitions_are_refused(harness: Harness) -> None:
    from kinko.domain.errors import InvalidTransition

    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    with pytest.raises(InvalidTransition):
        staff.resume(h.ctx, issued.token.serial, reason="x", actor=STAFF)
    with pytest.raises(InvalidTransition):
        staff.unlock_token(h.ctx, issued.token.serial, reason="x", actor=STAFF)
    with pytest.raises(InvalidInput):
        staff.suspend(h.ctx, issued.token.serial, reason="  ", actor=STAFF)


def test_password_lock_is_separate_and_staff_unlock_it(harness: Harness) -> None:
    from kinko.domain.errors import PasswordLocked
    from kinko.domain.model import PasswordKind

    h = harness
    customer = h.customer()
    # The fifth wrong password locks it; a guesser is not told (it would say the contract
    # ID exists): only the right password hears of the lock.
    for _ in range(6):
        with pytest.raises(WrongPassword):
            authentication.login(h.ctx, customer.contract_id, Password("wrong-password"))
    with pytest.raises(PasswordLocked):
        authentication.login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    # The confirmation password has its own counter and is unaffected.
    transactions.authorize(h.ctx, customer.id, purpose="t",
                           confirmation_password=Password(CONFIRMATION_PASSWORD))
    staff.unlock_password(h.ctx, customer.contract_id, PasswordKind.LOGIN,
                          reason="本人申出", actor=STAFF)
    authentication.login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))


def test_every_verification_outcome_is_audited(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    issued = h.enroll(customer)
    with pytest.raises(WrongCode):
        transactions.authorize(h.ctx, customer.id, purpose="t", code=h.wrong_code(issued))
    code = h.code(issued)
    transactions.authorize(h.ctx, customer.id, purpose="t", code=code)
    with pytest.raises(ReplayedCode):
        transactions.authorize(h.ctx, customer.id, purpose="t", code=code)
    checks = events(h, Action.TOKEN_CODE_CHECKED)
    outcomes = [(e.outcome, e.reason) for e in reversed(checks)]
    assert outcomes[-3:] == [
        (Outcome.FAILURE, "wrong_code"), (Outcome.SUCCESS, "t"), (Outcome.FAILURE, "replayed_code")
    ]
    assert all(e.serial == issued.token.serial for e in checks)


def test_issued_tokens_get_a_random_160_bit_seed_and_a_fresh_luhn_serial(
    harness: Harness,
) -> None:
    from kinko.domain.serials import is_valid_serial

    tokens = [harness.issue() for _ in range(5)]
    assert all(len(t.seed.reveal()) == 20 for t in tokens)
    assert len({t.seed.reveal() for t in tokens}) == 5
    assert all(is_valid_serial(t.token.serial) for t in tokens)
    assert len({t.token.serial for t in tokens}) == 5
    assert all(t.token.state is TokenState.UNBOUND for t in tokens)
    expires = tokens[0].token.expires_at
    assert expires is not None
    assert expires - harness.clock() == harness.ctx.policy.unbound_ttl


def test_a_serial_is_never_reused_even_after_revocation(harness: Harness) -> None:
    from kinko.domain.model import TokenOrigin
    from kinko.services.issuance import issue_token

    h = harness
    first = h.enroll(h.customer())  # staff revoke a customer's token, never one of nobody's
    staff.revoke(h.ctx, first.token.serial, reason="その他", actor=STAFF)
    proposals = iter([first.token.serial, first.token.serial, "100000000008"])
    second = issue_token(h.ctx, TokenOrigin.ISSUED, serial_source=lambda: next(proposals))
    assert second.token.serial == "100000000008"
