"""A customer's year with the bank, driven through the real services: every change that
sends a notice, in order, and the notice each one should send."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kinko.domain.errors import PasswordLocked, TokenLocked, WrongCode, WrongPassword
from kinko.domain.events import Actor
from kinko.domain.model import Customer, PasswordKind
from kinko.domain.notices import NoticeKind
from kinko.domain.secrets import Password
from kinko.services import authentication, exchange, staff, stopping, transactions
from kinko.services.issuance import IssuedToken
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness

STAFF = Actor.staff("sato")


def exchange_token(h: Harness, customer: Customer, old: IssuedToken) -> IssuedToken:
    """交換 to a new phone: old token's code, then the new serial and its code."""
    new = h.issue()
    started = exchange.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    confirmed = exchange.confirm_old_token(h.ctx, started, h.code(old))
    exchange.register_new_token(h.ctx, confirmed, new.token.serial, h.code(new))
    h.next_step()
    return new


def lock_token_with_wrong_codes(h: Harness, customer: Customer, issued: IssuedToken) -> None:
    """Five wrong codes at 利用中止 lock the token."""
    started = stopping.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    for _ in range(h.ctx.policy.max_code_failures - 1):
        with pytest.raises(WrongCode):
            stopping.stop(h.ctx, started, h.wrong_code(issued), Password(CONFIRMATION_PASSWORD))
    with pytest.raises(TokenLocked):
        stopping.stop(h.ctx, started, h.wrong_code(issued), Password(CONFIRMATION_PASSWORD))


def stop_using(h: Harness, customer: Customer, issued: IssuedToken) -> None:
    started = stopping.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    stopping.stop(h.ctx, started, h.code(issued), Password(CONFIRMATION_PASSWORD))
    h.next_step()


def lock_password(h: Harness, customer: Customer, kind: PasswordKind) -> None:
    """Wrong passwords until the lock: at login, or at a transfer's confirmation. On a
    later visit: the flows before checked this contract's password often enough for the
    per-contract login throttle."""
    h.clock.advance(2 * h.ctx.policy.login_per_contract.seconds)
    attempt: Callable[[], object]
    if kind is PasswordKind.LOGIN:
        def attempt() -> object:
            return authentication.start_login(h.ctx, customer.contract_id, Password("wrong-1"))
    else:
        def attempt() -> object:
            return transactions.authorize(h.ctx, customer.id, purpose="transfer",
                                          confirmation_password=Password("wrong-2"))
    for _ in range(h.ctx.policy.max_password_failures - 1):
        with pytest.raises(WrongPassword):
            attempt()
    if kind is PasswordKind.LOGIN:
        # At the login form the locking attempt reads like any wrong password; only the
        # right password is told of the lock.
        with pytest.raises(WrongPassword):
            attempt()
        with pytest.raises(PasswordLocked):
            authentication.start_login(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
        return
    with pytest.raises(PasswordLocked):
        attempt()


def every_notifiable_change(h: Harness, customer: Customer) -> list[tuple[NoticeKind, str | None]]:
    """Drive every change that notifies; returns (kind, serial) of each expected notice."""
    first = h.enroll(customer)                                   # 利用開始
    second = exchange_token(h, customer, first)                  # 交換
    lock_token_with_wrong_codes(h, customer, second)             # ロック
    serial = second.token.serial
    staff.unlock_token(h.ctx, serial, reason="誤入力ロック", actor=STAFF)
    staff.suspend(h.ctx, serial, reason="紛失届", actor=STAFF)
    staff.resume(h.ctx, serial, reason="本人申出", actor=STAFF)
    stop_using(h, customer, second)                              # 利用中止
    third = h.enroll(customer)                                   # 利用開始 again
    # The customer's phone clock runs 20 minutes fast: two consecutive codes it shows.
    staff.resync(h.ctx, third.token.serial, h.code(third, steps=40), h.code(third, steps=41),
                 reason="本人申出", actor=STAFF)
    staff.revoke(h.ctx, third.token.serial, reason="アプリ削除", actor=STAFF)
    lock_password(h, customer, PasswordKind.LOGIN)
    staff.unlock_password(h.ctx, customer.contract_id, PasswordKind.LOGIN,
                          reason="本人申出", actor=STAFF)
    lock_password(h, customer, PasswordKind.CONFIRMATION)
    staff.unlock_password(h.ctx, customer.contract_id, PasswordKind.CONFIRMATION,
                          reason="本人申出", actor=STAFF)
    return [
        (NoticeKind.REGISTERED, first.token.serial),
        (NoticeKind.EXCHANGED, first.token.serial),
        (NoticeKind.TOKEN_LOCKED, serial),
        (NoticeKind.TOKEN_UNLOCKED, serial),
        (NoticeKind.SUSPENDED, serial),
        (NoticeKind.RESUMED, serial),
        (NoticeKind.STOPPED, serial),
        (NoticeKind.REGISTERED, third.token.serial),
        (NoticeKind.RESYNCED, third.token.serial),
        (NoticeKind.REVOKED, third.token.serial),
        (NoticeKind.LOGIN_PASSWORD_LOCKED, None),
        (NoticeKind.LOGIN_PASSWORD_UNLOCKED, None),
        (NoticeKind.CONFIRMATION_PASSWORD_LOCKED, None),
        (NoticeKind.CONFIRMATION_PASSWORD_UNLOCKED, None),
    ]
