"""Fixtures for the token app: an in-memory keyring, a settable clock, token files with known
seeds, and a fake kinko server that answers activations with the real key agreement."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from keyring.backend import KeyringBackend

from kinko.domain.activation import b64url, derive_seed, from_b64url, public_key_from_bytes
from kinko.domain.otp import TotpParameters
from kinko.domain.secrets import Seed
from kinko.domain.serials import new_serial
from kinko_token.tokens import TokenInfo
from kinko_token.vault import Pin, Vault, VaultFile

# A step-aligned instant in 2027: step 60_833_333 starts here.
T0 = 1_824_999_990.0
PIN = "2468"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict, so tests never touch the machine's real keyring."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class FakeClock:
    """Unix time that tests move by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def token_info(serial: str | None = None, *, server: str = "http://127.0.0.1:8000") -> TokenInfo:
    return TokenInfo(
        serial=serial or new_serial(),
        server=server,
        parameters=TotpParameters(),
        activated_at=datetime(2026, 11, 26, 7, 0, tzinfo=UTC),
        expires_at=datetime(2026, 12, 26, 7, 0, tzinfo=UTC),
    )


def new_seed() -> Seed:
    return Seed(os.urandom(20))


@dataclass
class FakeServer:
    """Plays ``POST /api/v1/activations`` with ``kinko.domain.activation``, as the server does.

    ``answer`` may rewrite the JSON body before it is sent; ``seeds`` holds what the server
    derived, by serial.
    """

    seeds: dict[str, Seed] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    answer: dict[str, object] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method != "POST" or request.url.path != "/api/v1/activations":
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        body = json.loads(request.content)
        client_key = public_key_from_bytes(
            from_b64url(body["client_public_key"], field="client_public_key", length=32),
            field="client_public_key",
        )
        server_key = X25519PrivateKey.generate()
        salt = os.urandom(16)
        serial = new_serial()
        self.seeds[serial] = derive_seed(server_key, client_key, salt=salt, serial=serial)
        payload: dict[str, object] = {
            "serial": serial,
            "server_public_key": b64url(server_key.public_key().public_bytes_raw()),
            "salt": b64url(salt),
            "algorithm": "SHA1",
            "digits": 6,
            "period": 30,
            "expires_at": "2026-12-26T07:00:00Z",
        }
        if self.answer is not None:
            payload.update(self.answer)
            payload = {k: v for k, v in payload.items() if v is not _DROP}
        return httpx.Response(201, json=payload)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


_DROP = object()
DROP = _DROP  # a FakeServer.answer value that removes the field


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "kinko-token"


@pytest.fixture
def keyring_file(data_dir: Path, memory_keyring: MemoryKeyring) -> VaultFile:
    return VaultFile(data_dir, keyring_backend=memory_keyring)


@pytest.fixture
def pin_vault(data_dir: Path, memory_keyring: MemoryKeyring) -> Vault:
    """An empty token file protected by PIN ``2468``."""
    return VaultFile(data_dir, keyring_backend=memory_keyring).create(Pin(PIN))


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    yield FakeServer()
