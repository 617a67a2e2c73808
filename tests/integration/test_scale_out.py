"""Scaling out: two real ``kinko serve`` processes on different ports share one PostgreSQL
database and one key file, and a customer's requests alternate between them — as behind a
load balancer with no sticky sessions — through a login and a transfer."""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kinko.bootstrap import build
from kinko.config import Settings
from kinko.demo import DEMO_CUSTOMERS
from kinko.services.passwords import Argon2Hasher
from tests.databases import empty_database
from tests.web.client import CSRF, REQUEST_KEY

pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]

START_SECONDS = 30
# Settings the servers would otherwise take from the developer's environment.
_PLACE_SETTINGS = ("KINKO_DATA_DIR", "KINKO_DATABASE_URL", "KINKO_KEY_FILE", "KINKO_MASTER_KEY",
                   "KINKO_HOST", "KINKO_PORT", "PROMETHEUS_MULTIPROC_DIR")
JIRO = next(c for c in DEMO_CUSTOMERS if c.contract_id == "1000000003")  # OTP for payments
HANAKO = next(c for c in DEMO_CUSTOMERS if c.contract_id == "1000000001")


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    log: Path


@dataclass(frozen=True)
class Deployment:
    """Two servers, and where they keep what they share."""

    a: Server
    b: Server
    database_url: str
    key_file: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _kinko(env: dict[str, str], cwd: Path, log: Path, *args: str) -> None:
    with log.open("a") as out:
        done = subprocess.run([sys.executable, "-m", "kinko.cli", *args], env=env, cwd=cwd,  # noqa: S603 - our own CLI
                              stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(f"kinko {' '.join(args)} exited with {done.returncode}:\n{log.read_text()}")


def _wait_until_ready(server: Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server {server.name} exited with {process.returncode}:\n"
                        f"{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server {server.name} was not ready in {START_SECONDS}s:\n"
                f"{server.log.read_text()}")


@pytest.fixture
def deployment(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """A fresh database, migrated and loaded with the demo once, and two servers on it."""
    with empty_database(database_url, tmp_path) as url:
        key_file = tmp_path / "secrets" / "master.key"   # as a secret store would provide
        env = {k: v for k, v in os.environ.items() if k not in _PLACE_SETTINGS}
        env.update(KINKO_DATABASE_URL=url, KINKO_KEY_FILE=str(key_file),
                   KINKO_DATA_DIR=str(tmp_path / "unused"))
        setup_log = tmp_path / "setup.log"
        _kinko(env, tmp_path, setup_log, "db", "upgrade")
        _kinko(env, tmp_path, setup_log, "demo")
        servers = [Server(name, f"http://127.0.0.1:{_free_port()}", tmp_path / f"{name}.log")
                   for name in ("A", "B")]
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for server in servers:
                with server.log.open("w") as out:
                    processes.append(subprocess.Popen(  # noqa: S603 - our own CLI
                        [sys.executable, "-m", "kinko.cli", "serve",
                         "--port", server.url.rsplit(":", 1)[1]],
                        env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT))
            for server, process in zip(servers, processes, strict=True):
                _wait_until_ready(server, process)
            yield Deployment(servers[0], servers[1], url, key_file)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _otp_of(deployment: Deployment, contract_id: str) -> str:
    """The code the customer's token shows one step from now (the demo spent the step it
    was enrolled in), computed here from the shared database and key file."""
    kinko = build(Settings(_env_file=None, database_url=deployment.database_url,
                           key_file=deployment.key_file),
                  hasher=Argon2Hasher.fast_for_tests())
    try:
        with kinko.ctx.uow() as uow:
            customer = uow.customers.by_contract_id(contract_id)
            assert customer is not None
            token = uow.tokens.bound_to(customer.id)
            assert token is not None
            seed = uow.tokens.seed(token)
        return token.params.code_at(seed.reveal(), time.time() + token.params.period)
    finally:
        kinko.close()


def _csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text[:500]
    return html.unescape(found.group(1))


def _samples(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def test_a_login_and_a_transfer_alternating_between_two_servers(deployment: Deployment) -> None:
    a, b = deployment.a.url, deployment.b.url
    # One browser: cookies belong to the host, not the port, as behind a load balancer.
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        form = browser.get(f"{b}/login")
        logged_in = browser.post(f"{a}/login", data={
            "csrf_token": _csrf(form), "contract_id": JIRO.contract_id,
            "login_password": JIRO.login_password})
        assert logged_in.status_code == 303, logged_in.text[:500]
        assert logged_in.headers["location"] == "/home", "no login OTP for this customer"

        home = browser.get(f"{b}/home")
        assert home.status_code == 200 and JIRO.name in home.text

        transfer = browser.get(f"{a}/transfer")
        source = re.search(r'<option value="(\d+)"', transfer.text)
        assert source is not None
        entered = browser.post(f"{b}/transfer", data={
            "csrf_token": _csrf(transfer), "from_account_id": source.group(1),
            "bank_code": "1234", "branch_code": "001", "account_type": "ordinary",
            "account_number": "1234561", "payee_kana": HANAKO.kana, "amount": "1000"})
        assert entered.status_code == 303, entered.text[:500]
        assert entered.headers["location"] == "/transfer/confirm"

        confirm = browser.get(f"{a}/transfer/confirm")
        assert confirm.status_code == 200 and "ワンタイムパスワード" in confirm.text
        request_key = REQUEST_KEY.search(confirm.text)
        assert request_key is not None
        paid = browser.post(f"{b}/transfer/confirm", data={
            "csrf_token": _csrf(confirm), "request_key": request_key.group(1),
            "otp": _otp_of(deployment, JIRO.contract_id)})
        assert paid.status_code == 303, paid.text[:800]
        assert paid.headers["location"].startswith("/receipts/")

        receipt = browser.get(f"{a}{paid.headers['location']}")
        assert receipt.status_code == 200
        assert "振込完了" in receipt.text and "519,000" in receipt.text   # 520,000 - 1,000

        again = browser.get(f"{b}/home")
        assert again.status_code == 200 and "519,000" in again.text
        out = browser.post(f"{a}/logout", data={"csrf_token": _csrf(again)})
        assert out.status_code == 303
        gone = browser.get(f"{b}/home")
        assert gone.status_code == 303 and gone.headers["location"] == "/login"

    # Each process counts the verifications it did; the database gauges are the same.
    on_a, on_b = _samples(deployment.a), _samples(deployment.b)
    success = ("kinko_verifications_total", (("outcome", "success"),))
    assert (on_a[success], on_b[success]) == (0, 1)
    active = ("kinko_tokens", (("state", "active"),))
    assert on_a[active] == on_b[active] >= sum(c.otp for c in DEMO_CUSTOMERS)
