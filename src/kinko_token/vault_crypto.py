"""The token file's cryptography: the file key (OS keyring or scrypt of a PIN) and the
AES-256-GCM sealing of the check value and of every seed.

The file key (32 random bytes, or 32 bytes derived from the PIN)
    - **keyring**: when the OS keyring is usable (``keyring.get_keyring()`` has a priority
      above 0 and is not the "fail" or "null" backend) and the customer sets no PIN, a random
      key is stored base64url-encoded under service ``kinko-token`` and a username that is the
      SHA-256 (hex) of the file's absolute path when it was created; the username is recorded
      in the file, so a moved file still finds its key.
    - **pin**: when there is no usable keyring a PIN is required; the customer may also choose
      one when a keyring exists. Then the file key is ``scrypt(PIN, salt, n=2**15, r=8, p=1)``
      and the keyring is not used at all: the PIN alone opens the file, which suits a shared
      PC account. A PIN is 4 to 12 digits (full-width digits are accepted). It protects
      against casual access, not against an attacker who copies the file and can try every
      PIN offline (scrypt makes each try cost about 0.1 s); the keyring is the stronger choice.
    The protection is chosen when the file is created and stays for its lifetime.

- The check is AES-256-GCM of the constant ``b"kinko-token vault v1"`` with associated data
  ``b"kinko-token check"``. It decrypts only under the right key, which tells a wrong PIN
  (``WrongPin``) from a damaged file (``VaultDamaged``: the check opens but a seed does not).
- Each seed is AES-256-GCM under the file key with a fresh 12-byte random nonce and the
  serial (ASCII) as associated data, so a seed cannot be moved to another serial unnoticed.

How these are written to the file is ``kinko_token.vault_format``'s business.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import keyring.backend
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.backends import fail as fail_keyring
from keyring.backends import null as null_keyring

from kinko.domain.activation import b64url, from_b64url
from kinko.domain.errors import InvalidInput
from kinko.domain.secrets import Secret, Seed
from kinko_token.errors import InvalidPin, KeyringUnavailable

__all__ = [
    "CHECK_PLAINTEXT",
    "KEYRING_SERVICE",
    "NONCE_BYTES",
    "SALT_BYTES",
    "TAG_BYTES",
    "KeyringProtection",
    "Pin",
    "PinProtection",
    "Sealed",
    "check_opens",
    "keyring_usable",
    "load_keyring_key",
    "new_keyring_protection",
    "new_pin_protection",
    "open_seed",
    "seal_check",
    "seal_seed",
]

KEYRING_SERVICE = "kinko-token"

SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
# Bounds on the cost parameters read back from a file, so a doctored file cannot make the app
# allocate gigabytes (n * r * 128 bytes) or spin for minutes.
_SCRYPT_N_RANGE = (2**14, 2**20)
_SCRYPT_R_RANGE = (1, 16)
_SCRYPT_P_RANGE = (1, 4)

PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 12

KEY_BYTES = 32
NONCE_BYTES = 12
SALT_BYTES = 16
TAG_BYTES = 16
CHECK_PLAINTEXT = b"kinko-token vault v1"
_CHECK_AAD = b"kinko-token check"


class Pin(Secret[str]):
    """The customer's PIN (4 to 12 digits); ``repr`` shows a mask."""

    @classmethod
    def parse(cls, text: str) -> Pin:
        """A PIN as typed: NFKC-normalised (full-width digits become ASCII), then checked.

        InvalidPin never repeats the input.
        """
        pin = unicodedata.normalize("NFKC", text)
        if not (
            PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS and pin.isascii() and pin.isdigit()
        ):
            raise InvalidPin(
                f"PINは{PIN_MIN_DIGITS}〜{PIN_MAX_DIGITS}桁の数字です / "
                f"a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits"
            )
        return cls(pin)


# --- sealing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    """An AES-256-GCM ciphertext (with its tag) and its nonce."""

    nonce: bytes
    ciphertext: bytes

    @classmethod
    def seal(cls, key: bytes, plaintext: bytes, aad: bytes) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        return cls(nonce, AESGCM(key).encrypt(nonce, plaintext, aad))

    def open(self, key: bytes, aad: bytes) -> bytes:
        """The plaintext; InvalidTag under a wrong key or a changed ciphertext."""
        return AESGCM(key).decrypt(self.nonce, self.ciphertext, aad)


def seal_check(key: bytes) -> Sealed:
    """The check value of a new file: opens only under ``key``."""
    return Sealed.seal(key, CHECK_PLAINTEXT, _CHECK_AAD)


def check_opens(check: Sealed, key: bytes) -> bool:
    """Whether ``key`` is the key the file's check was sealed under."""
    try:
        return check.open(key, _CHECK_AAD) == CHECK_PLAINTEXT
    except InvalidTag:
        return False


def seal_seed(key: bytes, seed: Seed, serial: str) -> Sealed:
    """``seed`` sealed under ``key``, bound to ``serial`` as associated data."""
    return Sealed.seal(key, seed.reveal(), serial.encode("ascii"))


def open_seed(sealed: Sealed, key: bytes, serial: str) -> Seed | None:
    """The seed of ``serial``; None if it does not open (changed, or moved from another serial).

    The caller has already checked ``key`` against the file's check, so None means damage.
    """
    try:
        return Seed(sealed.open(key, serial.encode("ascii")))
    except InvalidTag:
        return None


# --- the two protections ---------------------------------------------------------------------


@dataclass(frozen=True)
class PinProtection:
    """The file key is scrypt of the PIN with these parameters.

    The constructor refuses costs out of bounds, so parameters read from a doctored file never
    reach scrypt (ValueError).
    """

    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def __post_init__(self) -> None:
        n, r, p = self.n, self.r, self.p
        if not (
            _SCRYPT_N_RANGE[0] <= n <= _SCRYPT_N_RANGE[1] and n & (n - 1) == 0
            and _SCRYPT_R_RANGE[0] <= r <= _SCRYPT_R_RANGE[1]
            and _SCRYPT_P_RANGE[0] <= p <= _SCRYPT_P_RANGE[1]
        ):
            raise ValueError("scrypt costs out of range")

    def derive(self, pin: Pin) -> bytes:
        kdf = Scrypt(salt=self.salt, length=KEY_BYTES, n=self.n, r=self.r, p=self.p)
        return kdf.derive(pin.reveal().encode("utf-8"))


@dataclass(frozen=True)
class KeyringProtection:
    """The file key is a random key kept in the OS keyring under ``service``/``username``."""

    username: str
    service: str = KEYRING_SERVICE


def new_pin_protection(pin: Pin) -> tuple[PinProtection, bytes]:
    """Protection for a new file under ``pin`` (a fresh salt), and the key it derives."""
    protection = PinProtection(salt=os.urandom(SALT_BYTES))
    return protection, protection.derive(pin)


def new_keyring_protection(
    backend: keyring.backend.KeyringBackend, path: Path
) -> tuple[KeyringProtection, bytes]:
    """A fresh random key for the new file at ``path``, stored in ``backend``.

    The username is the SHA-256 of the file's absolute path now; it is recorded in the file, so
    the key is found again after the file moves. KeyringUnavailable if the keyring refuses it.
    """
    username = hashlib.sha256(str(path.absolute()).encode("utf-8")).hexdigest()
    protection = KeyringProtection(username=username)
    key = os.urandom(KEY_BYTES)
    try:
        backend.set_password(protection.service, protection.username, b64url(key))
    except keyring.errors.KeyringError as error:
        raise KeyringUnavailable(
            f"OSのキーリングに鍵を保存できません。PINを設定してください / the OS keyring "
            f"could not store the key ({type(error).__name__}); set a PIN instead"
        ) from None
    return protection, key


def keyring_usable(backend: keyring.backend.KeyringBackend) -> bool:
    """Whether ``backend`` is a real keyring: priority above 0 and not the fail/null backend."""
    if isinstance(backend, fail_keyring.Keyring | null_keyring.Keyring):
        return False
    try:
        return float(backend.priority) > 0
    except Exception:  # keyring backends signal "not usable here" by raising from priority
        return False


def load_keyring_key(
    backend: keyring.backend.KeyringBackend, protection: KeyringProtection, path: Path
) -> bytes:
    """The key of the file at ``path`` from the keyring; KeyringUnavailable if it is not there."""
    if not keyring_usable(backend):
        raise KeyringUnavailable(
            "このトークンの鍵はOSのキーリングにありますが、キーリングが使えません / "
            "the key of the token file is kept in the OS keyring, which is not available"
        )
    try:
        stored = backend.get_password(protection.service, protection.username)
    except keyring.errors.KeyringError as error:
        raise KeyringUnavailable(
            f"OSのキーリングから鍵を読めません / cannot read the key from the OS keyring "
            f"({type(error).__name__})"
        ) from None
    if stored is None:
        raise KeyringUnavailable(
            "OSのキーリングにこのトークンファイルの鍵がありません / the OS keyring holds no "
            f"key for the token file {path}"
        )
    try:
        return from_b64url(stored, field="key", length=KEY_BYTES)
    except InvalidInput:
        raise KeyringUnavailable(
            "OSのキーリングにある鍵が壊れています / the key in the OS keyring is damaged"
        ) from None
