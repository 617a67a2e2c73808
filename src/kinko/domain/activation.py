"""The token activation key agreement (DESIGN.md, docs/activation.md): X25519, then
HKDF-SHA256 to a 20-byte seed, so the seed itself never crosses the network.

Shared by the server and the token app; pure apart from ``cryptography``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kinko.domain.errors import InvalidInput
from kinko.domain.secrets import Seed

INFO_PREFIX = b"kinko activation v1 "
SEED_LENGTH = 20
SALT_LENGTH = 16
KEY_LENGTH = 32


def b64url(data: bytes) -> str:
    """base64url without padding, as every binary field of the protocol travels."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str, *, field: str, length: int) -> bytes:
    """Decode a base64url field (padding optional) of exactly ``length`` bytes."""
    if not isinstance(text, str) or len(text) > 4 * length:
        raise InvalidInput(f"{field} must be base64url of {length} bytes")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise InvalidInput(f"{field} must be base64url of {length} bytes") from None
    if len(data) != length or b64url(data) != text.rstrip("="):
        raise InvalidInput(f"{field} must be base64url of {length} bytes")
    return data


def public_key_from_bytes(raw: bytes, *, field: str) -> X25519PublicKey:
    try:
        return X25519PublicKey.from_public_bytes(raw)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidInput(f"{field} is not an X25519 public key") from None


def derive_seed(
    private_key: X25519PrivateKey, peer_public_key: X25519PublicKey, *, salt: bytes,
    serial: str,
) -> Seed:
    """seed = HKDF-SHA256(ikm = X25519(own private, peer public), salt,
    info = b"kinko activation v1 " + serial, length = 20).

    A low-order peer key (all-zero shared secret) is refused with ``InvalidInput``.
    """
    if len(salt) != SALT_LENGTH:
        raise InvalidInput(f"salt must be {SALT_LENGTH} bytes")
    if len(serial) != 12 or not serial.isascii() or not serial.isdigit():
        raise InvalidInput("serial must be 12 ASCII digits")
    try:
        shared = private_key.exchange(peer_public_key)
    except ValueError:
        raise InvalidInput("the public key is a low-order point") from None
    if shared == bytes(KEY_LENGTH):
        raise InvalidInput("the public key is a low-order point")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=SEED_LENGTH, salt=salt,
                info=INFO_PREFIX + serial.encode("ascii"))
    return Seed(hkdf.derive(shared))


@dataclass(frozen=True)
class ActivationOffer:
    """What the server answers (``201``), decoded: everything the app needs to derive the
    seed and show codes."""

    serial: str
    server_public_key: bytes
    salt: bytes
    algorithm: str
    digits: int
    period: int
    expires_at: str
