"""The delivery worker against a real local SMTP server (aiosmtpd): every notice arrives,
in Japanese and without secrets; retried while the server is down; never lost.
"""

from __future__ import annotations

import base64
import io
import re
import threading
import time
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage

from aiosmtpd.smtp import AuthResult
from pydantic import SecretStr
from sqlalchemy import Engine

from kinko.domain.notices import Notice, NoticeKind, NoticeStatus
from kinko.domain.secrets import Password
from kinko.notify import (
    DeliveryReport,
    PrintSender,
    SmtpSender,
    build_message,
    run_forever,
    run_once,
)
from kinko.services import enrollment, staff
from tests.notices.conftest import SmtpServer, notices_harness, outbox
from tests.notices.story import STAFF, every_notifiable_change
from tests.support import CONFIRMATION_PASSWORD, LOGIN_PASSWORD, Harness


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    content = body.get_content()
    assert isinstance(content, str)
    return content


def test_every_notifiable_event_arrives_as_one_mail_to_the_customer(
    h: Harness, smtp_server: SmtpServer
) -> None:
    customer = h.customer()
    expected = every_notifiable_change(h, customer)

    report = run_once(h.kinko, smtp_server.sender())

    assert report == DeliveryReport(sent=len(expected))
    received = smtp_server.mailbox.messages
    assert [m["Subject"].removeprefix("【きんこ信用金庫】") for m in received] == [
        "ワンタイムパスワードの利用開始のお知らせ",
        "ワンタイムパスワードのトークン交換のお知らせ",
        "ワンタイムパスワードのロックのお知らせ",
        "ワンタイムパスワードのロック解除のお知らせ",
        "ワンタイムパスワードの一時停止のお知らせ",
        "ワンタイムパスワードの利用再開のお知らせ",
        "ワンタイムパスワードの利用中止のお知らせ",
        "ワンタイムパスワードの利用開始のお知らせ",
        "ワンタイムパスワードの時刻補正のお知らせ",
        "ワンタイムパスワードのトークン失効のお知らせ",
        "ログインパスワードのロックのお知らせ",
        "ログインパスワードのロック解除のお知らせ",
        "確認用パスワードのロックのお知らせ",
        "確認用パスワードのロック解除のお知らせ",
    ]
    for message, (_, serial) in zip(received, expected, strict=True):
        body = text_of(message)
        if serial is None:
            assert "シリアル番号" not in body
        else:
            assert f"シリアル番号：**** **** {serial[-4:]}\n" in body
    assert smtp_server.mailbox.recipients == [[customer.email]] * len(expected)
    assert {q.status for q in outbox(h)} == {NoticeStatus.SENT}
    assert run_once(h.kinko, smtp_server.sender()) == DeliveryReport()  # nothing twice


def test_the_mail_is_japanese_plain_text_with_proper_headers_and_no_secret(
    h: Harness, smtp_server: SmtpServer
) -> None:
    customer = h.customer()
    issued = h.issue()
    serial = issued.token.serial
    code = h.code(issued)
    started = enrollment.begin(h.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
    confirmed = enrollment.confirm_token(h.ctx, started, serial, code)
    enrollment.register(h.ctx, confirmed, login_otp_required=True,
                        confirmation_password=Password(CONFIRMATION_PASSWORD))

    assert run_once(h.kinko, smtp_server.sender()).sent == 1

    [raw] = smtp_server.mailbox.raw
    [message] = smtp_server.mailbox.messages
    # headers: encoded Subject, Date in JST, a Message-ID of the notice, From and To
    raw_subject = re.search(rb"^Subject: (.*(?:\r?\n[ \t].*)*)", raw, re.MULTILINE)
    assert raw_subject is not None and raw_subject.group(1).startswith(b"=?utf-8?")
    assert message["Subject"] == "【きんこ信用金庫】ワンタイムパスワードの利用開始のお知らせ"
    assert message["Date"] == "Wed, 01 Apr 2026 18:00:00 +0900"
    [queued] = outbox(h)
    assert message["Message-ID"] == f"<kinko-notice.{queued.message_key}@kinko.example.jp>"
    assert message["From"].addresses == (
        Address("きんこ信用金庫", addr_spec="noreply@kinko.example.jp"),
    )
    assert message["To"].addresses == (Address(customer.name, addr_spec=customer.email),)
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Auto-Submitted"] == "auto-generated"
    raw.decode("ascii")  # 7-bit clean on the wire: encoded words and a base64 body
    # the body: whom, what, when (JST), which token (masked), whom to call
    body = text_of(message)
    assert body.startswith(f"{customer.name} 様")
    assert "利用開始のお手続きが完了しました" in body
    assert "日時：2026年4月1日 18時00分（日本時間）" in body
    assert f"シリアル番号：**** **** {serial[-4:]}" in body
    assert "お心当たりのない場合は、当金庫までご連絡ください。" in body
    # no code, seed or password; not even the whole serial
    seed = issued.seed.reveal()
    secrets = [
        code.reveal(), LOGIN_PASSWORD, CONFIRMATION_PASSWORD, serial,
        f"{serial[:4]} {serial[4:8]} {serial[8:]}", serial[:8], seed.hex(),
        base64.b32encode(seed).decode().rstrip("="),
    ]
    for secret in secrets:
        assert secret not in body
        assert secret.encode() not in raw


def test_a_notice_is_retried_after_the_smtp_server_was_down(
    h: Harness, stopped_smtp_server: SmtpServer
) -> None:
    customer = h.customer()
    h.enroll(customer)
    server = stopped_smtp_server

    assert run_once(h.kinko, server.sender()) == DeliveryReport(retried=1)

    [queued] = outbox(h)
    assert (queued.status, queued.attempts, queued.lease) == (NoticeStatus.PENDING, 1, None)
    assert queued.next_attempt_at == h.clock() + timedelta(seconds=60)
    assert queued.last_error is not None and "ConnectionRefusedError" in queued.last_error

    server.start()
    assert run_once(h.kinko, server.sender()) == DeliveryReport()  # not due yet
    h.clock.advance(60)
    assert run_once(h.kinko, server.sender()) == DeliveryReport(sent=1)

    [queued] = outbox(h)
    assert (queued.status, queued.attempts, queued.sent_at) == (NoticeStatus.SENT, 2, h.clock())
    assert len(server.mailbox.raw) == 1


def test_retries_back_off_and_end_in_a_failure_staff_can_see(
    clean_engine: Engine, stopped_smtp_server: SmtpServer
) -> None:
    h = notices_harness(clean_engine, notice_max_attempts=3, notice_retry_seconds=60)
    h.enroll(h.customer())
    sender = stopped_smtp_server.sender()
    waits = []
    for _ in range(2):
        assert run_once(h.kinko, sender) == DeliveryReport(retried=1)
        [queued] = outbox(h)
        waits.append(queued.next_attempt_at - h.clock())
        h.clock.advance(waits[-1].total_seconds())
    assert waits == [timedelta(minutes=1), timedelta(minutes=2)]

    assert run_once(h.kinko, sender) == DeliveryReport(failed=1)

    with h.ctx.uow() as uow:
        [failed] = uow.outbox.listing(status=NoticeStatus.FAILED)
    assert (failed.attempts, failed.failed_at, failed.sent_at) == (3, h.clock(), None)
    assert failed.last_error is not None and "ConnectionRefusedError" in failed.last_error
    stopped_smtp_server.start()
    h.clock.advance(86400)
    assert run_once(h.kinko, sender) == DeliveryReport()  # given up means given up


def test_a_refused_recipient_fails_at_once(h: Harness, smtp_server: SmtpServer) -> None:
    h.enroll(h.customer())
    smtp_server.mailbox.refuse_rcpt = "550 5.1.1 no such mailbox"

    assert run_once(h.kinko, smtp_server.sender()) == DeliveryReport(failed=1)

    [queued] = outbox(h)
    assert (queued.status, queued.attempts) == (NoticeStatus.FAILED, 1)
    assert queued.last_error == "recipient refused: 550"


def test_a_temporarily_refused_recipient_is_retried(h: Harness, smtp_server: SmtpServer) -> None:
    h.enroll(h.customer())
    smtp_server.mailbox.refuse_rcpt = "451 4.3.0 try again later"

    assert run_once(h.kinko, smtp_server.sender()) == DeliveryReport(retried=1)
    smtp_server.mailbox.refuse_rcpt = None
    h.clock.advance(60)
    assert run_once(h.kinko, smtp_server.sender()) == DeliveryReport(sent=1)


def test_stored_errors_never_hold_the_smtp_password(
    h: Harness, stopped_smtp_server: SmtpServer
) -> None:
    password = "smtp-Pa55-w0rd"

    def echoing_authenticator(*_: object) -> AuthResult:
        # A careless server that repeats what it was given in its refusal.
        return AuthResult(success=False, handled=False,
                          message=f"535 5.7.8 bad credentials {password}")

    server = stopped_smtp_server
    server.authenticator = echoing_authenticator
    server.start()
    h.enroll(h.customer())
    sender = server.sender(username=SecretStr("kinko"), password=SecretStr(password))

    assert run_once(h.kinko, sender) == DeliveryReport(retried=1)

    [queued] = outbox(h)
    assert queued.last_error is not None
    assert queued.last_error.startswith("SMTPAuthenticationError: 535")
    assert password not in queued.last_error
    assert password not in repr(sender)


def test_a_claimed_notice_comes_due_again_when_its_lease_ends(
    h: Harness, smtp_server: SmtpServer
) -> None:
    h.enroll(h.customer())
    lease = h.kinko.settings.notice_retry().lease
    # A worker claims the notice and is never heard of again.
    with h.ctx.uow() as uow:
        claimed = uow.outbox.claim_due(now=h.clock(), lease_until=h.clock() + lease)
        uow.commit()
    assert claimed is not None and claimed.attempts == 1

    assert run_once(h.kinko, smtp_server.sender()) == DeliveryReport()  # still leased
    h.clock.advance(lease.total_seconds())
    assert run_once(h.kinko, smtp_server.sender()) == DeliveryReport(sent=1)

    # The first worker's late report of a failure cannot undo the delivery.
    with h.ctx.uow() as uow:
        assert claimed.lease is not None
        assert not uow.outbox.mark_retry(claimed.id, lease=claimed.lease,
                                         next_attempt_at=h.clock(), error="late")
        uow.commit()
    [queued] = outbox(h)
    assert (queued.status, queued.attempts) == (NoticeStatus.SENT, 2)


def test_a_late_worker_cannot_reschedule_a_notice_another_worker_holds(h: Harness) -> None:
    h.enroll(h.customer())
    lease = timedelta(seconds=30)
    with h.ctx.uow() as uow:
        first = uow.outbox.claim_due(now=h.clock(), lease_until=h.clock() + lease)
        uow.commit()
    h.clock.advance(30)
    with h.ctx.uow() as uow:
        second = uow.outbox.claim_due(now=h.clock(), lease_until=h.clock() + lease)
        assert uow.outbox.claim_due(now=h.clock(), lease_until=h.clock() + lease) is None
        uow.commit()
    assert first is not None and second is not None and first.id == second.id
    assert first.lease and second.lease and first.lease != second.lease

    with h.ctx.uow() as uow:
        assert not uow.outbox.mark_failed(first.id, lease=first.lease, now=h.clock(),
                                          error="late")
        assert uow.outbox.mark_retry(second.id, lease=second.lease,
                                     next_attempt_at=h.clock(), error="on time")
        uow.commit()
    [queued] = outbox(h)
    assert (queued.status, queued.attempts, queued.last_error) == (
        NoticeStatus.PENDING, 2, "on time"
    )


def test_a_message_is_the_same_on_every_attempt(h: Harness) -> None:
    h.enroll(h.customer())
    [queued] = outbox(h)
    first, again = build_message(queued, h.kinko.settings), build_message(queued, h.kinko.settings)
    assert first.as_bytes() == again.as_bytes()


def test_the_smtp_sender_reads_its_settings(h: Harness) -> None:
    settings = h.kinko.settings.model_copy(update={
        "smtp_host": "mail.example.jp", "smtp_port": 587, "smtp_starttls": True,
    })
    sender = SmtpSender.from_settings(settings)
    assert (sender.host, sender.port, sender.starttls, sender.timeout) == (
        "mail.example.jp", 587, True, 5,
    )


def test_a_notice_that_cannot_be_made_into_a_mail_fails_at_once(
    h: Harness, smtp_server: SmtpServer
) -> None:
    with h.ctx.uow() as uow:
        notice = Notice(NoticeKind.STOPPED, h.clock(), "1000000001", "123456789012")
        uow.outbox.enqueue(notice, recipient="not@an@address", recipient_name="金庫 太郎")
        uow.commit()

    assert run_once(h.kinko, smtp_server.sender()) == DeliveryReport(failed=1)

    [queued] = outbox(h)
    assert queued.last_error == "the message could not be built: HeaderParseError"
    assert smtp_server.mailbox.raw == []


def test_the_worker_keeps_delivering_until_it_is_stopped(
    h: Harness, smtp_server: SmtpServer
) -> None:
    stop = threading.Event()
    totals: list[DeliveryReport] = []
    worker = threading.Thread(target=lambda: totals.append(run_forever(
        h.kinko, smtp_server.sender(), interval=0.05, stop_event=stop)))
    worker.start()
    try:
        customer = h.customer()
        issued = h.enroll(customer)
        staff.suspend(h.ctx, issued.token.serial, reason="紛失届", actor=STAFF)
        deadline = time.monotonic() + 30
        while len(smtp_server.mailbox.raw) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
    assert totals == [DeliveryReport(sent=2)]
    assert {q.status for q in outbox(h)} == {NoticeStatus.SENT}


def test_the_print_sender_shows_the_decoded_mail(h: Harness) -> None:
    h.enroll(h.customer())
    [queued] = outbox(h)
    shown = io.StringIO()

    PrintSender(shown).send(build_message(queued, h.kinko.settings))

    assert "Subject: 【きんこ信用金庫】ワンタイムパスワードの利用開始のお知らせ" in shown.getvalue()
    assert "お心当たりのない場合は、当金庫までご連絡ください。" in shown.getvalue()
