"""Which audit events tell the customer, what the mail says, and how retries back off.

Pure ``kinko.domain.notices``: no database, no mail server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kinko.domain.events import Action, AuditEvent, Channel, Outcome
from kinko.domain.notices import (
    UNEXPECTED_CHANGE,
    Notice,
    NoticeKind,
    RetryPolicy,
    compose,
    format_jst,
    mask_serial,
    notice_for,
)

AT = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
CONTRACT = "1000000001"
SERIAL = "123456789012"
CUSTOMER = f"customer:{CONTRACT}"
STAFF = "staff:sato"
CALL_CENTRE = "api:callcenter"


def event(
    action: Action, actor: str = CUSTOMER, *, outcome: Outcome = Outcome.SUCCESS,
    contract_id: str | None = CONTRACT, serial: str | None = SERIAL, reason: str | None = None,
) -> AuditEvent:
    channel = Channel.CONSOLE if actor.startswith("staff:") else Channel.WEB
    return AuditEvent(AT, action, outcome, actor, channel, contract_id, serial, reason)


@pytest.mark.parametrize(("audited", "kind"), [
    (event(Action.TOKEN_BOUND, reason="enroll"), NoticeKind.REGISTERED),
    (event(Action.TOKEN_EXCHANGED, reason="exchanged_out"), NoticeKind.EXCHANGED),
    (event(Action.TOKEN_STOPPED, reason="stop"), NoticeKind.STOPPED),
    (event(Action.TOKEN_LOCKED, reason="too_many_wrong_codes"), NoticeKind.TOKEN_LOCKED),
    (event(Action.PASSWORD_LOCKED, serial=None, reason="login"),
     NoticeKind.LOGIN_PASSWORD_LOCKED),
    (event(Action.PASSWORD_LOCKED, serial=None, reason="confirmation"),
     NoticeKind.CONFIRMATION_PASSWORD_LOCKED),
    (event(Action.PASSWORD_LOCKED, serial=None, reason=None), NoticeKind.PASSWORD_LOCKED),
    (event(Action.TOKEN_SUSPENDED, STAFF, reason="紛失届"), NoticeKind.SUSPENDED),
    (event(Action.TOKEN_RESUMED, STAFF, reason="本人申出"), NoticeKind.RESUMED),
    (event(Action.TOKEN_REVOKED, STAFF, reason="アプリ削除"), NoticeKind.REVOKED),
    (event(Action.TOKEN_UNLOCKED, STAFF, reason="誤入力ロック"), NoticeKind.TOKEN_UNLOCKED),
    (event(Action.TOKEN_RESYNCED, STAFF, reason="drift=40:本人申出"), NoticeKind.RESYNCED),
    # a call centre's system acting through the API is the bank acting, too
    (event(Action.TOKEN_SUSPENDED, CALL_CENTRE, reason="紛失届"), NoticeKind.SUSPENDED),
    (event(Action.TOKEN_UNLOCKED, CALL_CENTRE, reason="誤入力ロック"),
     NoticeKind.TOKEN_UNLOCKED),
    (event(Action.PASSWORD_UNLOCKED, STAFF, serial=None, reason="login:誤入力ロック"),
     NoticeKind.LOGIN_PASSWORD_UNLOCKED),
    (event(Action.PASSWORD_UNLOCKED, STAFF, serial=None, reason="confirmation:本人申出"),
     NoticeKind.CONFIRMATION_PASSWORD_UNLOCKED),
], ids=lambda value: value.value if isinstance(value, NoticeKind) else "")
def test_changes_the_customer_must_hear_of_make_a_notice(
    audited: AuditEvent, kind: NoticeKind
) -> None:
    assert notice_for(audited) == Notice(kind, AT, CONTRACT, audited.serial)


@pytest.mark.parametrize("audited", [
    # the exchange is told once, by TOKEN_EXCHANGED, not again as a 利用開始
    event(Action.TOKEN_BOUND, reason="exchange"),
    # checks, logins, settings and payments are not notices
    event(Action.TOKEN_CODE_CHECKED),
    event(Action.LOGIN, serial=None),
    event(Action.LOGIN_OTP_CHANGED, serial=None, reason="on"),
    event(Action.TRANSACTION_AUTHORIZED, serial=None, reason="transfer:otp"),
    event(Action.CUSTOMER_CREATED, "operator", serial=None),
    event(Action.TOKEN_ISSUED, "operator", contract_id=None),
    # failures change nothing
    event(Action.TOKEN_RESYNCED, STAFF, outcome=Outcome.FAILURE, reason="wrong_code"),
    event(Action.TOKEN_BOUND, outcome=Outcome.FAILURE),
    # staff actions are the ones taken by staff: a code-guessing customer that revokes an
    # unregistered token, or a system expiry, is not a staff action
    event(Action.TOKEN_REVOKED, reason="too_many_wrong_codes"),
    event(Action.TOKEN_EXPIRED, "system", contract_id=None, reason="unbound_ttl"),
    event(Action.TOKEN_SUSPENDED, "operator"),
    # no contract, no customer: e.g. a staff member's own sign-in token locking
    event(Action.TOKEN_LOCKED, "staff:sato", contract_id=None),
], ids=lambda e: f"{e.action.value}-{e.actor}-{e.outcome.value}-{e.reason}")
def test_other_events_make_no_notice(audited: AuditEvent) -> None:
    assert notice_for(audited) is None


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_notice_is_japanese_text_with_the_bank_the_time_and_whom_to_call(
    kind: NoticeKind,
) -> None:
    text = compose(Notice(kind, AT, CONTRACT, SERIAL), recipient_name="金庫 太郎",
                   bank_name="きんこ信用金庫")
    assert text.subject.startswith("【きんこ信用金庫】")
    assert text.subject.endswith("のお知らせ")
    assert "\n" not in text.subject
    assert text.body.startswith("金庫 太郎 様\n")
    assert "2026年4月1日 18時00分（日本時間）" in text.body
    assert "**** **** 9012" in text.body
    assert UNEXPECTED_CHANGE in text.body
    assert text.body.rstrip().endswith("きんこ信用金庫")
    # not even the whole serial number
    assert SERIAL not in text.body
    assert "1234 5678 9012" not in text.body
    assert "5678" not in text.body


def test_a_password_notice_has_no_serial_line() -> None:
    text = compose(Notice(NoticeKind.LOGIN_PASSWORD_LOCKED, AT, CONTRACT, None),
                   recipient_name="金庫 太郎", bank_name="きんこ信用金庫")
    assert "シリアル番号" not in text.body
    assert "ログインパスワードの誤入力" in text.body


def test_the_exchange_notice_names_the_serial_it_replaced() -> None:
    text = compose(Notice(NoticeKind.EXCHANGED, AT, CONTRACT, SERIAL),
                   recipient_name="金庫 太郎", bank_name="きんこ信用金庫")
    assert "交換前のシリアル番号：**** **** 9012" in text.body


def test_the_serial_keeps_only_its_last_four_digits() -> None:
    assert mask_serial("123456789012") == "**** **** 9012"


@pytest.mark.parametrize(("moment", "shown"), [
    (datetime(2026, 4, 1, 9, 0, tzinfo=UTC), "2026年4月1日 18時00分（日本時間）"),
    # the day changes at 15:00 UTC
    (datetime(2026, 12, 31, 15, 5, tzinfo=UTC), "2027年1月1日 00時05分（日本時間）"),
])
def test_times_are_shown_in_japan_standard_time(moment: datetime, shown: str) -> None:
    assert format_jst(moment) == shown


def test_retries_back_off_exponentially_up_to_a_cap_and_give_up_at_the_limit() -> None:
    retry = RetryPolicy(max_attempts=5, first_delay=timedelta(minutes=1),
                        max_delay=timedelta(minutes=10))
    assert [retry.delay_after(n) for n in range(1, 7)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 10, 10)
    ]
    assert [retry.gives_up(n) for n in range(1, 7)] == [False] * 4 + [True] * 2
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
