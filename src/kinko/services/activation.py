"""Token activation for the app: the server's half of the X25519 + HKDF agreement, a new
serial and an ``unbound`` token, rate-limited per client address.

The seed is derived on both sides and never sent; see docs/activation.md.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kinko.domain import activation as protocol
from kinko.domain.errors import RateLimited
from kinko.domain.events import Actor, Channel
from kinko.domain.model import Token, TokenOrigin
from kinko.domain.throttle import RateLimit
from kinko.services import throttle
from kinko.services.context import Context
from kinko.services.issuance import issue_token

__all__ = ["Activation", "RateLimited", "activate", "admit"]


@dataclass(frozen=True)
class Activation:
    """The ``201`` answer: everything the app needs, and nothing secret."""

    token: Token
    server_public_key: bytes
    salt: bytes


def admit(ctx: Context, client_address: str, limit: RateLimit) -> None:
    """Count this request against the address's sliding window, or raise ``RateLimited``.

    Every request counts, malformed ones too, so that garbage cannot be sent for free.
    """
    throttle.admit(ctx, (f"activation:{client_address}", limit))


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
