"""The outbox: a notice is queued by the very transaction of its change, and only then.

Real services on SQLite and PostgreSQL; no mail is sent here (see test_delivery).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kinko.domain.errors import ReplayedCode, WrongCode, WrongPassword
from kinko.domain.events import Action
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import TokenOrigin
from kinko.domain.notices import NoticeKind, NoticeStatus
from kinko.domain.secrets import Code, Password
from kinko.services import authentication, customers, staff, transactions
from kinko.services.verification import audit
from kinko.store.uow import SqlUnitOfWork
from tests.notices.conftest import outbox
from tests.notices.story import STAFF, every_notifiable_change, stop_using
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness


def test_every_notifiable_change_queues_one_notice_for_the_customer(h: Harness) -> None:
    customer = h.customer()

    expected = every_notifiable_change(h, customer)

    queued = outbox(h)
    assert [(q.notice.kind, q.notice.serial) for q in queued] == expected
    assert {(q.recipient, q.recipient_name, q.notice.contract_id) for q in queued} == {
        (customer.email, customer.name, customer.contract_id)
    }
    assert {(q.status, q.attempts, q.lease) for q in queued} == {(NoticeStatus.PENDING, 0, None)}
    # due at once, stamped with the time of the change
    assert all(q.next_attempt_at == q.notice.occurred_at for q in queued)
    assert len({q.message_key for q in queued}) == len(queued)


def test_an_exchange_sends_one_notice_not_a_registration_as_well(h: Harness) -> None:
    from tests.notices.story import exchange_token

    customer = h.customer()
    first = h.enroll(customer)
    exchange_token(h, customer, first)

    assert [q.notice.kind for q in outbox(h)] == [NoticeKind.REGISTERED, NoticeKind.EXCHANGED]


def test_checks_logins_settings_payments_and_failures_queue_nothing(h: Harness) -> None:
    customer = h.customer()
    issued = h.enroll(customer)  # the one notice of this test
    h.issue(TokenOrigin.ISSUED)
    authentication.login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    customers.set_login_otp(h.ctx, customer.id, required=True, code=h.code(issued))
    h.next_step()
    authentication.login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD), h.code(issued))
    h.next_step()
    transactions.authorize(h.ctx, customer.id, purpose="transfer", code=h.code(issued))
    with pytest.raises(ReplayedCode):
        transactions.authorize(h.ctx, customer.id, purpose="transfer", code=h.code(issued))
    with pytest.raises(WrongCode):
        transactions.authorize(h.ctx, customer.id, purpose="transfer",
                               code=h.wrong_code(issued))
    with pytest.raises(WrongPassword):
        authentication.login(h.ctx, customer.contract_id, Password("not-the-password"))
    with pytest.raises(WrongCode):  # a failed staff action changes nothing either
        staff.resync(h.ctx, issued.token.serial, Code("000000"), Code("000001"),
                     reason="本人申出", actor=STAFF)

    assert [q.notice.kind for q in outbox(h)] == [NoticeKind.REGISTERED]


def test_a_customer_without_an_email_address_gets_no_notice(h: Harness) -> None:
    customer = customers.add_customer(
        h.ctx, contract_id="1000000009", name="無 メール", email=None,
        login_password=Password(LOGIN_PASSWORD),
        confirmation_password=Password(CONFIRMATION_PASSWORD),
    )
    issued = h.enroll(customer)
    staff.suspend(h.ctx, issued.token.serial, reason="紛失届", actor=STAFF)
    staff.resume(h.ctx, issued.token.serial, reason="本人申出", actor=STAFF)
    stop_using(h, customer, issued)

    assert outbox(h) == []


def test_a_change_that_rolls_back_queues_nothing(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = h.customer()
    issued = h.enroll(customer)
    serial = issued.token.serial

    # A staff suspension whose transaction fails as it commits (say, the database went
    # away): neither the change nor its notice is kept.
    def commit_fails(self: SqlUnitOfWork) -> None:
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr(SqlUnitOfWork, "commit", commit_fails)
        with pytest.raises(RuntimeError):
            staff.suspend(h.ctx, serial, reason="紛失届", actor=STAFF)
    with h.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
    assert token is not None and token.state is TokenState.ACTIVE

    # A unit of work left without commit: the notice was there inside it, and is gone.
    with h.ctx.uow() as uow:
        audit(uow, h.clock(), Action.TOKEN_SUSPENDED, STAFF,
              contract_id=customer.contract_id, serial=serial, reason="紛失届")
        assert [q.notice.kind for q in uow.outbox.listing()] == [
            NoticeKind.SUSPENDED, NoticeKind.REGISTERED,
        ]

    assert [q.notice.kind for q in outbox(h)] == [NoticeKind.REGISTERED]


def test_a_notice_is_queued_with_the_change_it_reports(h: Harness) -> None:
    customer = h.customer()
    issued = h.enroll(customer)
    h.clock.advance(3600)
    staff.suspend(h.ctx, issued.token.serial, reason="紛失届", actor=STAFF)

    suspended = outbox(h)[-1]
    assert suspended.notice.kind is NoticeKind.SUSPENDED
    assert suspended.notice.occurred_at == h.clock()
    assert suspended.notice.occurred_at - outbox(h)[0].notice.occurred_at >= timedelta(hours=1)
