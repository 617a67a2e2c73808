"""The delivery worker of customer e-mail notices: claim a due outbox row, send it by SMTP,
record the outcome; retried with backoff, delivered at least once.

``run_once`` delivers what is due now, ``run_forever`` repeats that until told to stop.

A claim is a lease, not a "sending" state: the claimed row is due again when the lease
ends, so a worker killed mid-delivery leaves the notice to the next run (it may then arrive
twice, with the same Message-ID; it is never lost). A row is marked sent only after the
SMTP server accepted the message. Several workers may run at once: on PostgreSQL claims
skip rows another worker holds (``FOR UPDATE SKIP LOCKED``), on SQLite one writer claims
at a time.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol, TextIO

from pydantic import SecretStr

from kinko.bootstrap import Kinko
from kinko.config import Settings
from kinko.domain.notices import JST, QueuedNotice, RetryPolicy, compose

log = logging.getLogger(__name__)

#: How long a stored error text may be (the column's size).
MAX_ERROR_LENGTH = 255


class DeliveryFailed(Exception):
    """The mail server did not accept the message. ``reason`` is safe to store and show:
    no password, no message content. ``permanent``: retrying cannot help (e.g. the server
    refused the recipient with a 5xx reply), so the notice is marked failed at once."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over; return only once the server accepted it, raise
        ``DeliveryFailed`` otherwise."""
        ...


class StopSignal(Protocol):
    """What ``run_forever`` is stopped by: a ``threading.Event`` or a multiprocessing one."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class SmtpSender:
    """Sends through an SMTP server (smtplib), one connection per message."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = False,
        username: SecretStr | None = None,
        password: SecretStr | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.starttls = starttls
        self.timeout = timeout
        self._username = username
        self._password = password

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )

    def __repr__(self) -> str:
        return f"SmtpSender({self.host!r}, {self.port}, starttls={self.starttls})"

    def send(self, message: EmailMessage) -> None:
        smtp = smtplib.SMTP(timeout=self.timeout)
        accepted = False
        try:
            smtp.connect(self.host, self.port)
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._username is not None:
                password = self._password.get_secret_value() if self._password else ""
                smtp.login(self._username.get_secret_value(), password)
            smtp.send_message(message)
            accepted = True
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _ in error.recipients.values()})
            raise DeliveryFailed(
                f"recipient refused: {', '.join(map(str, codes))}",
                permanent=all(500 <= code < 600 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryFailed(self._scrub(
                f"{type(error).__name__}: {error.smtp_code} {_reply_text(error.smtp_error)}"
            )) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(self._scrub(_describe(error))) from None
        finally:
            if accepted:
                # The server has the message: a failing QUIT changes nothing.
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()
            else:
                smtp.close()

    def _scrub(self, text: str) -> str:
        """Never let the SMTP password reach a stored error, whatever a server echoes."""
        if self._password is not None and self._password.get_secret_value():
            text = text.replace(self._password.get_secret_value(), "***")
        return text


class PrintSender:
    """Writes each notice, decoded, to a stream instead of sending it (development)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: EmailMessage) -> None:
        stream = self._stream or sys.stdout
        for name in ("Date", "From", "To", "Subject", "Message-ID"):
            stream.write(f"{name}: {message[name]}\n")
        body = message.get_body(preferencelist=("plain",))
        content = body.get_content() if isinstance(body, EmailMessage) else ""
        stream.write(f"\n{content}\n{'-' * 60}\n")
        stream.flush()


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:160]


def _describe(error: BaseException) -> str:
    detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return f"{type(error).__name__}: {' '.join(detail.split())[:160]}".rstrip(": ")


def build_message(queued: QueuedNotice, settings: Settings) -> EmailMessage:
    """The notice as a UTF-8 plain-text mail with proper headers.

    Date is the time of the change and Message-ID is fixed per notice, so a redelivered
    duplicate is the same message to the receiver.
    """
    text = compose(queued.notice, recipient_name=queued.recipient_name,
                   bank_name=settings.bank_name)
    domain = settings.smtp_from.rpartition("@")[2]
    message = EmailMessage()
    message["Subject"] = text.subject
    message["From"] = Address(display_name=settings.bank_name, addr_spec=settings.smtp_from)
    message["To"] = Address(display_name=queued.recipient_name, addr_spec=queued.recipient)
    message["Date"] = format_datetime(queued.notice.occurred_at.astimezone(JST))
    message["Message-ID"] = f"<kinko-notice.{queued.message_key}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(text.body, charset="utf-8", cte="base64")
    return message


@dataclass
class DeliveryReport:
    """What one or more delivery passes did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.failed

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(self.sent + other.sent, self.retried + other.retried,
                              self.failed + other.failed)


def run_once(
    kinko: Kinko, sender: MailSender, *, limit: int | None = None,
    stop_event: StopSignal | None = None,
) -> DeliveryReport:
    """Deliver the notices due now, one claim at a time, until none is due (or ``limit``
    were attempted, or ``stop_event`` is set)."""
    policy = kinko.settings.notice_retry()
    report = DeliveryReport()
    while limit is None or report.attempted < limit:
        if stop_event is not None and stop_event.is_set():
            break
        queued = _claim(kinko, policy)
        if queued is None:
            break
        _deliver(kinko, sender, policy, queued, report)
    return report


def run_forever(
    kinko: Kinko, sender: MailSender, *, interval: float, stop_event: StopSignal
) -> DeliveryReport:
    """``run_once`` every ``interval`` seconds until ``stop_event`` is set; a failing pass
    (say, the database restarting) is logged and the next one tried."""
    total = DeliveryReport()
    while not stop_event.is_set():
        try:
            total += run_once(kinko, sender, stop_event=stop_event)
        except Exception:  # keep the worker alive; leased notices come due again anyway
            log.exception("notice delivery pass failed; next pass in %s s", interval)
        stop_event.wait(interval)
    return total


def _claim(kinko: Kinko, policy: RetryPolicy) -> QueuedNotice | None:
    now = kinko.ctx.clock()
    with kinko.ctx.uow() as uow:
        queued = uow.outbox.claim_due(now=now, lease_until=now + policy.lease)
        uow.commit()
    return queued


def _deliver(
    kinko: Kinko, sender: MailSender, policy: RetryPolicy, queued: QueuedNotice,
    report: DeliveryReport,
) -> None:
    try:
        message = build_message(queued, kinko.settings)
    except (ValueError, TypeError, MessageError) as error:  # e.g. a malformed address
        failure = DeliveryFailed(f"the message could not be built: {type(error).__name__}",
                                 permanent=True)
    else:
        try:
            sender.send(message)
        except DeliveryFailed as error:
            failure = error
        except Exception as error:  # a sender's bug: retry the notice, keep the worker
            log.exception("notice %s: unexpected error from the mail sender", queued.id)
            failure = DeliveryFailed(f"unexpected {type(error).__name__}")
        else:
            _record_sent(kinko, queued)
            report.sent += 1
            return
    _record_failure(kinko, policy, queued, failure, report)


def _record_sent(kinko: Kinko, queued: QueuedNotice) -> None:
    with kinko.ctx.uow() as uow:
        marked = uow.outbox.mark_sent(queued.id, now=kinko.ctx.clock())
        uow.commit()
    log.info("notice %s (%s) sent, attempt %s", queued.id, queued.notice.kind, queued.attempts)
    if not marked:
        log.info("notice %s was no longer pending (another worker sent it too)", queued.id)


def _record_failure(
    kinko: Kinko, policy: RetryPolicy, queued: QueuedNotice, failure: DeliveryFailed,
    report: DeliveryReport,
) -> None:
    now = kinko.ctx.clock()
    error = failure.reason[:MAX_ERROR_LENGTH]
    lease = queued.lease or ""
    give_up = failure.permanent or policy.gives_up(queued.attempts)
    with kinko.ctx.uow() as uow:
        if give_up:
            recorded = uow.outbox.mark_failed(queued.id, lease=lease, now=now, error=error)
        else:
            recorded = uow.outbox.mark_retry(
                queued.id, lease=lease, next_attempt_at=now + policy.delay_after(queued.attempts),
                error=error,
            )
        uow.commit()
    if give_up:
        report.failed += 1
        log.warning("notice %s (%s) failed for good after %s attempt(s): %s",
                    queued.id, queued.notice.kind, queued.attempts, error)
    else:
        report.retried += 1
        log.warning("notice %s (%s) attempt %s failed, will retry: %s",
                    queued.id, queued.notice.kind, queued.attempts, error)
    if not recorded:
        log.info("notice %s: the lease had passed to another worker", queued.id)
