"""A database outage: every request is answered (503 with Retry-After: a problem document on
the API, the maintenance page on the screens), /readyz goes red, and the same server serves
again once the database is back, without a restart.

The outage is made by a TCP proxy in this process between a real ``kinko serve`` and the
real PostgreSQL: cutting it closes every connection and refuses new ones, as a PostgreSQL
restart does; stalling it accepts connections and never answers, as a hung or unreachable
host does. The PostgreSQL service itself is never touched.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, exc, make_url, text

from kinko.bootstrap import build
from kinko.config import Settings
from kinko.domain.secrets import Password
from kinko.services.api_clients import add_client
from kinko.services.customers import add_customer
from kinko.services.passwords import Argon2Hasher
from kinko.store.db import make_engine, upgrade
from kinko.web import i18n
from kinko.web.app import create_app
from kinko.web.errors import (
    MAINTENANCE_MESSAGE,
    MAINTENANCE_NOTE,
    MAINTENANCE_TITLE,
    RETRY_AFTER_SECONDS,
    SERVER_ERROR_MESSAGE,
    SERVER_ERROR_TITLE,
    database_unavailable,
)
from kinko.web.i18n import LANG_COOKIE
from tests.databases import empty_database
from tests.support import Harness

START_SECONDS = 30
RECOVER_SECONDS = 20
CONNECT_TIMEOUT = 2   # libpq's smallest useful value; the servers here get it in their URL
_PLACE_SETTINGS = ("KINKO_DATA_DIR", "KINKO_DATABASE_URL", "KINKO_KEY_FILE", "KINKO_MASTER_KEY",
                   "KINKO_HOST", "KINKO_PORT", "PROMETHEUS_MULTIPROC_DIR")
CONTRACT_ID = "1000000001"


# --- the proxy --------------------------------------------------------------------------

class Proxy:
    """A TCP proxy on 127.0.0.1 in front of PostgreSQL, run by an event loop in a thread.

    ``cut()`` closes every connection and stops listening (new connections are refused);
    ``stall()`` also closes every connection but then accepts new ones and never forwards a
    byte; ``reopen()`` forwards again, on the same port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="db-proxy",
                                       daemon=True)
        self.server: asyncio.Server | None = None
        self.forwarding = False
        self.transports: set[asyncio.WriteTransport] = set()

    def start(self) -> None:
        self.thread.start()
        self.reopen()

    def cut(self) -> None:
        self._call(self._close(listen_after=False))

    def stall(self) -> None:
        self._call(self._close(listen_after=True))

    def reopen(self) -> None:
        self._call(self._reopen())

    def stop(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def _reopen(self) -> None:
        await self._close(listen_after=False)
        self.forwarding = True
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _close(self, *, listen_after: bool) -> None:
        self.forwarding = False
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for transport in list(self.transports):
            transport.abort()   # both directions, at once, as a crashed server would
        self.transports.clear()
        if listen_after:
            self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.transports.add(writer.transport)
        if not self.forwarding:
            return   # stalled: hold the connection, never answer
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if not self.forwarding:   # cut while connecting
            up_writer.transport.abort()
            writer.transport.abort()
            return
        self.transports.add(up_writer.transport)
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.transport.abort()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- a real server behind the proxy -----------------------------------------------------

@dataclass
class Site:
    url: str
    proxy: Proxy
    bearer: str
    log: Path

    def wait_until_ready(self, seconds: float = RECOVER_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"the server was not ready again in {seconds}s:\n{self.log.read_text()}")


def _prepare(url: str, key_file: Path) -> str:
    """Migrate the database, add the customer the API asks about and an API client; the
    client's bearer secret."""
    engine = make_engine(url)
    upgrade(engine)
    kinko = build(Settings(_env_file=None, database_url=url, key_file=key_file),
                  engine=engine, hasher=Argon2Hasher.fast_for_tests())
    try:
        add_customer(kinko.ctx, contract_id=CONTRACT_ID, name="金庫 太郎",
                     login_password=Password("login-pass-1"),
                     confirmation_password=Password("confirm-pass-1"))
        return add_client(kinko.ctx, "ib-core", ["verify"]).bearer.reveal()
    finally:
        kinko.close()


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``kinko serve`` on a fresh database, reaching PostgreSQL through a proxy."""
    tmp_path = tmp_path_factory.mktemp("outage")
    with empty_database(database_url, tmp_path) as url:
        key_file = tmp_path / "keys" / "master.key"
        bearer = _prepare(url, key_file)
        env = {k: v for k, v in os.environ.items() if k not in _PLACE_SETTINGS}
        env.update(KINKO_KEY_FILE=str(key_file), KINKO_DATA_DIR=str(tmp_path / "unused"))

        direct = make_url(url)
        proxy = Proxy(direct.host or "127.0.0.1", direct.port or 5432)
        proxy.start()
        proxied = direct.set(host="127.0.0.1", port=proxy.port).update_query_dict(
            {"connect_timeout": str(CONNECT_TIMEOUT)})
        env["KINKO_DATABASE_URL"] = proxied.render_as_string(hide_password=False)
        port = _free_port()
        log = tmp_path / "server.log"
        with log.open("w") as out:
            process = subprocess.Popen(  # noqa: S603 - our own CLI
                [sys.executable, "-m", "kinko.cli", "serve", "--port", str(port)],
                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
        try:
            served = Site(f"http://127.0.0.1:{port}", proxy, bearer, log)
            deadline = time.monotonic() + START_SECONDS
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    if httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                pytest.fail(f"the server did not start:\n{log.read_text()}")
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            proxy.stop()


# --- the load ---------------------------------------------------------------------------

#: What each client sends, in turn: (kind, path). The API's status call needs the bearer.
REQUESTS = (("api", f"/api/v1/customers/{CONTRACT_ID}"), ("screen", "/login"),
            ("console", "/console/login"), ("ready", "/readyz"))


@dataclass(frozen=True)
class Answer:
    kind: str
    path: str
    phase: str                 # the phase when the request was sent ...
    phase_after: str           # ... and when its answer (or its failure) arrived
    status: int | None         # None: the connection ended without an answer
    content_type: str = ""
    retry_after: str | None = None
    body: str = ""
    failure: str = ""
    seconds: float = 0.0


@dataclass
class Load:
    """A few clients sending ``REQUESTS`` round and round, each over its own kept-alive
    connection (as a load balancer or a bank system's HTTP pool does), until stopped."""

    site: Site
    clients: int = 3
    phase: str = "before"
    answers: list[Answer] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for n in range(self.clients):
            thread = threading.Thread(target=self._run, name=f"client-{n}", daemon=True)
            self.threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def during(self, phase: str) -> list[Answer]:
        """The answers sent and received wholly within ``phase``."""
        with self.lock:
            return [a for a in self.answers if a.phase == phase == a.phase_after]

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.site.bearer}"}
        with httpx.Client(base_url=self.site.url, timeout=15) as client:
            while not self.stopped.is_set():
                for kind, path in REQUESTS:
                    self._send(client, kind, path, headers if kind == "api" else {})
                time.sleep(0.02)

    def _send(self, client: httpx.Client, kind: str, path: str,
              headers: dict[str, str]) -> None:
        phase, began = self.phase, time.monotonic()
        try:
            response = client.get(path, headers=headers)
            answer = Answer(kind, path, phase, self.phase, response.status_code,
                            response.headers.get("content-type", ""),
                            response.headers.get("retry-after"), response.text,
                            seconds=time.monotonic() - began)
        except httpx.TransportError as error:
            answer = Answer(kind, path, phase, self.phase, None,
                            failure=f"{type(error).__name__}: {error}",
                            seconds=time.monotonic() - began)
        with self.lock:
            self.answers.append(answer)


def _assert_healthy(answers: list[Answer]) -> None:
    assert answers, "no request was answered in this phase"
    for a in answers:
        assert a.status == 200, a


def _assert_unavailable(answers: list[Answer]) -> None:
    assert {a.kind for a in answers} == {kind for kind, _ in REQUESTS}, answers
    for a in answers:
        assert a.status == 503, a
        if a.kind == "ready":
            assert a.content_type == "application/json" and '"status":"unavailable"' in a.body
            continue
        assert a.retry_after == str(RETRY_AFTER_SECONDS), a
        if a.kind == "api":
            assert a.content_type == "application/problem+json", a
            assert '"code":"service_unavailable"' in a.body, a
        else:
            assert a.content_type.startswith("text/html"), a
            assert MAINTENANCE_TITLE in a.body and "Traceback" not in a.body, a


@pytest.mark.postgresql_only
@pytest.mark.slow
def test_a_database_cut_mid_load_is_answered_503_and_the_same_server_recovers(
    site: Site,
) -> None:
    site.wait_until_ready()
    load = Load(site)
    load.start()
    try:
        time.sleep(1.5)
        load.phase = "cutting"      # requests in flight now may still succeed, or not
        site.proxy.cut()
        time.sleep(1.0)
        load.phase = "cut"
        time.sleep(3.0)
        load.phase = "reopening"
        site.proxy.reopen()
        site.wait_until_ready()     # the pool reconnected by itself: same process
        load.phase = "after"
        time.sleep(2.0)
    finally:
        load.stop()
    dropped = [a for a in load.answers if a.status is None]
    assert not dropped, f"connections ended without an answer: {dropped[:5]}"
    assert all(a.status in (200, 503) for a in load.answers), \
        [a for a in load.answers if a.status not in (200, 503)][:5]
    _assert_healthy(load.during("before"))
    _assert_unavailable(load.during("cut"))
    _assert_healthy(load.during("after"))


@pytest.mark.postgresql_only
@pytest.mark.slow
def test_a_database_that_stops_answering_is_answered_503_in_seconds_not_hung(
    site: Site,
) -> None:
    site.wait_until_ready()
    site.proxy.stall()
    try:
        with httpx.Client(base_url=site.url, timeout=30) as client:
            for kind, path in REQUESTS:
                headers = {"Authorization": f"Bearer {site.bearer}"} if kind == "api" else {}
                began = time.monotonic()
                response = client.get(path, headers=headers)
                took = time.monotonic() - began
                assert response.status_code == 503, (path, response.text[:300])
                # a connect timeout (and a pre-ping and a reconnect), not the kernel's minutes
                assert took < 4 * CONNECT_TIMEOUT + 2, (path, took)
    finally:
        site.proxy.reopen()
    site.wait_until_ready()


# --- in one process: a save that fails as the response starts, and real bugs ------------

@contextmanager
def refusing(engine: Engine, table: str, sqlstate: str) -> Iterator[None]:
    """Every INSERT or UPDATE of ``table`` fails with ``sqlstate``, as PostgreSQL itself
    raises it (57P01: the server is shutting down; XX000: an internal error)."""
    name = f"kinko_test_refuse_{secrets.token_hex(4)}"
    with engine.begin() as connection:
        connection.execute(text(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION 'refused by the test' USING ERRCODE = '{sqlstate}'; END $$"))
        connection.execute(text(
            f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TRIGGER {name} ON {table}"))
            connection.execute(text(f"DROP FUNCTION {name}()"))


@pytest.mark.postgresql_only
def test_a_session_save_that_fails_as_the_response_starts_still_gets_the_maintenance_page(
    harness: Harness, clean_engine: Engine,
) -> None:
    # The handlers render the login forms; saving their new session then meets a database
    # that is shutting down, after the handler's response is made and before it starts.
    client = TestClient(create_app(harness.kinko))
    with refusing(clean_engine, "web_sessions", "57P01"):
        layouts = (("/login", "インターネットバンキング"), ("/console/login", "職員コンソール"))
        for path, layout in layouts:
            page = client.get(path)
            assert page.status_code == 503, page.text[:300]
            assert page.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["x-frame-options"] == "DENY", "the security headers stay"
            assert "set-cookie" not in page.headers, "no cookie for a session never saved"
            for text_ in (MAINTENANCE_TITLE, MAINTENANCE_MESSAGE, MAINTENANCE_NOTE, layout):
                assert text_ in page.text
        client.cookies.set(LANG_COOKIE, "en")
        english = client.get("/login")
        assert english.status_code == 503
        assert i18n.EN[MAINTENANCE_TITLE] in english.text
        assert i18n.EN[MAINTENANCE_MESSAGE] in english.text
    client.cookies.delete(LANG_COOKIE)
    assert client.get("/login").status_code == 200, "and the next request is served"


@pytest.mark.postgresql_only
def test_the_api_answers_a_database_shutting_down_with_a_503_problem(
    harness: Harness, clean_engine: Engine,
) -> None:
    client = TestClient(create_app(harness.kinko))
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    with refusing(clean_engine, "tokens", "57P01"):
        answer = client.post("/api/v1/activations", json={"client_public_key": key})
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    problem = answer.json()
    assert problem["code"] == "service_unavailable" and problem["status"] == 503
    assert problem["type"] == "urn:kinko:problem:service_unavailable"


@pytest.mark.postgresql_only
def test_a_real_bug_stays_a_500_but_as_a_page_and_a_problem_never_plain_text(
    harness: Harness, clean_engine: Engine,
) -> None:
    client = TestClient(create_app(harness.kinko))
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    with refusing(clean_engine, "tokens", "XX000"):
        answer = client.post("/api/v1/activations", json={"client_public_key": key})
    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "internal_error"
    assert "retry-after" not in answer.headers
    assert "refused by the test" not in answer.text, "no database message reaches the client"
    with refusing(clean_engine, "web_sessions", "XX000"):
        page = client.get("/login")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert SERVER_ERROR_TITLE in page.text and SERVER_ERROR_MESSAGE in page.text
    assert "retry-after" not in page.headers
    assert "refused by the test" not in page.text


# --- what counts as "the database cannot be reached" -------------------------------------

def _wrapped(error: Exception, kind: type[exc.DBAPIError]) -> exc.DBAPIError:
    return kind("SELECT 1", {}, error)


@pytest.mark.parametrize("error", [
    _wrapped(psycopg.OperationalError("connection refused"), exc.OperationalError),
    _wrapped(psycopg.InterfaceError("the connection is closed"), exc.InterfaceError),
    exc.DisconnectionError("gone"),
    exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    psycopg.OperationalError("server closed the connection unexpectedly"),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
], ids=lambda e: type(e).__name__)
def test_an_unreachable_database_is_told_apart(error: Exception) -> None:
    assert database_unavailable(error)
    try:
        raise RuntimeError("while answering") from error
    except RuntimeError as chained:
        assert database_unavailable(chained), "raise ... from keeps the reason"
    assert database_unavailable(ExceptionGroup("both", [error, error]))


@pytest.mark.parametrize("error", [
    ValueError("a bug"), KeyError("a bug"),
    _wrapped(psycopg.errors.UniqueViolation("duplicate key"), exc.IntegrityError),
    _wrapped(psycopg.errors.UndefinedTable("no such table"), exc.ProgrammingError),
    ExceptionGroup("mixed", [ValueError("a bug"), exc.DisconnectionError("gone")]),
], ids=lambda e: type(e).__name__)
def test_a_bug_is_not_an_outage(error: Exception) -> None:
    assert not database_unavailable(error)


def test_the_maintenance_and_error_pages_have_english() -> None:
    for text_ in (MAINTENANCE_TITLE, MAINTENANCE_MESSAGE, MAINTENANCE_NOTE,
                  SERVER_ERROR_TITLE, SERVER_ERROR_MESSAGE):
        assert i18n.translate(text_, "en") != text_, text_
