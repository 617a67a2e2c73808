"""A real SMTP server for the notice tests (aiosmtpd in a thread), and harness helpers.

The server keeps every message it accepted; a test can make it stall in DATA or refuse
recipients, and can start it late on a port chosen before (to play "the server was down").
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from sqlalchemy import Engine

from kinko.bootstrap import build
from kinko.config import Settings
from kinko.domain.notices import NoticeStatus, QueuedNotice
from kinko.notify import SmtpSender
from kinko.services.passwords import Argon2Hasher
from kinko.store.keyring import Keyring
from kinko.store.seedbox import SeedBox
from tests.support import FakeClock, Harness

#: Timeouts in these tests are short, and the lease is the shortest the settings allow.
TEST_SETTINGS: dict[str, Any] = {"smtp_timeout_seconds": 5, "notice_lease_seconds": 30}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    """The handler: collects accepted messages; can stall DATA or refuse recipients."""

    raw: list[bytes] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    #: While set, DATA waits for ``release`` and then answers 451 (never accepts).
    stall: bool = False
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    #: A reply to every RCPT instead of accepting it, e.g. "550 5.1.1 no such user".
    refuse_rcpt: str | None = None
    #: Seconds DATA takes before accepting (lets concurrent workers overlap).
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.stall:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 4.3.0 stalled on purpose"
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        content = envelope.content
        assert isinstance(content, bytes)
        with self._lock:
            self.raw.append(content)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 2.0.0 accepted"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            raw = list(self.raw)
        parsed = [message_from_bytes(r, policy=policy.default) for r in raw]
        return [m for m in parsed if isinstance(m, EmailMessage)]


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    authenticator: Callable[..., AuthResult] | None = None
    controller: Controller | None = None

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.authenticator is not None:
            kwargs = {"authenticator": self.authenticator, "auth_require_tls": False}
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                     **kwargs)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.mailbox.release.set()
            self.controller.stop()
            self.controller = None

    def sender(self, **kwargs: Any) -> SmtpSender:
        return SmtpSender("127.0.0.1", self.port, timeout=5, **kwargs)


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_server(smtp_port: int) -> Iterator[SmtpServer]:
    """A running local SMTP server."""
    server = SmtpServer(smtp_port, Mailbox())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stopped_smtp_server(smtp_port: int) -> Iterator[SmtpServer]:
    """A server not started yet: its port refuses connections until ``start()``."""
    server = SmtpServer(smtp_port, Mailbox())
    yield server
    server.stop()


def notices_harness(engine: Engine, **settings: Any) -> Harness:
    """Like ``tests.support.make_harness``, with notice settings of the test's choice."""
    clock = FakeClock()
    kinko = build(
        Settings(database_url=str(engine.url), **(TEST_SETTINGS | settings)),
        engine=engine,
        seedbox=SeedBox(Keyring.generate()),
        hasher=Argon2Hasher.fast_for_tests(),
        clock=clock,
    )
    return Harness(kinko, clock)


@pytest.fixture
def h(clean_engine: Engine) -> Harness:
    return notices_harness(clean_engine)


def outbox(h: Harness, status: NoticeStatus | None = None) -> list[QueuedNotice]:
    """The outbox, oldest first."""
    with h.ctx.uow() as uow:
        return list(reversed(uow.outbox.listing(status=status, limit=1000)))
