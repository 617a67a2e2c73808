"""Token activation for the app: the server's half of the X25519 + HKDF agreement, a new
serial and an ``unbound`` token, rate-limited per client address.

The seed is derived on both sides and never sent; see docs/activation.md.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kinko.domain import activation as protocol
from kinko.domain.errors import KinkoError
from kinko.domain.events import Actor, Channel
from kinko.domain.model import Token, TokenOrigin
from kinko.services.context import Context
from kinko.services.issuance import issue_token


class RateLimited(KinkoError):
    """Too many activations from this address; try again later."""

    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many activations from this address; try again later")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ActivationLimit:
    attempts: int = 10
    window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class Activation:
    """The ``201`` answer: everything the app needs, and nothing secret."""

    token: Token
    server_public_key: bytes
    salt: bytes


def admit(ctx: Context, client_address: str, limit: ActivationLimit) -> None:
    """Count this request against the address's window, or raise ``RateLimited``.

    Every request counts, malformed ones too, so that garbage cannot be sent for free.
    """
    now = ctx.clock()
    seconds = int(limit.window.total_seconds())
    start = int(now.timestamp()) // seconds * seconds
    with ctx.uow() as uow:
        count = uow.rate_limits.hit(f"activation:{client_address}"[:128],
                                    window_start=datetime.fromtimestamp(start, UTC))
        uow.commit()
    if count > limit.attempts:
        raise RateLimited(retry_after=max(1, start + seconds - int(now.timestamp())))


def activate(ctx: Context, client_public_key: str, *, client_address: str) -> Activation:
    """Agree on a seed with the app's key and store it sealed as a new unbound token."""
    client_key = protocol.public_key_from_bytes(
        protocol.from_b64url(client_public_key, field="client_public_key",
                             length=protocol.KEY_LENGTH),
        field="client_public_key",
    )
    server_key = X25519PrivateKey.generate()
    salt = secrets.token_bytes(protocol.SALT_LENGTH)
    # Refuse a low-order client key before a serial is spent on it.
    protocol.derive_seed(server_key, client_key, salt=salt, serial="000000000000")
    issued = issue_token(
        ctx, TokenOrigin.ACTIVATION,
        seed=lambda serial: protocol.derive_seed(server_key, client_key, salt=salt,
                                                 serial=serial),
        actor=Actor(f"app:{client_address}"[:80], Channel.API),
    )
    public = server_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Activation(issued.token, public, salt)
