"""The token app's storage on the device: a small JSON file in which every token's seed is
AES-256-GCM encrypted under one file key, kept in the OS keyring or derived from a PIN.

Where
    ``tokens.json`` in the data directory: ``--data-dir``, else ``$KINKO_TOKEN_DATA_DIR``,
    else the platform's user data directory for "kinko-token" (``~/.local/share/kinko-token``
    on Linux). The directory is created with mode 0700; the file is always mode 0600 and is
    refused (``InsecurePermissions``) when group or other users have any access to it.
    Every write goes to a temporary file in the same directory, is fsync'ed, then renamed over
    the old file with ``os.replace`` (and the directory fsync'ed), so a crash leaves either the
    old or the new file, never half of one. Changes re-read the file under an exclusive lock
    (``.tokens.lock``, POSIX ``flock``), so the terminal UI and the CLI running side by side do
    not lose each other's changes.

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

Format (version 1), UTF-8 JSON; binary fields are base64url without padding::

    {
      "format": "kinko-token",
      "version": 1,
      "protection": {"method": "keyring", "service": "kinko-token", "username": "<64 hex>"}
                  | {"method": "pin", "kdf": "scrypt", "salt": "<16 bytes>",
                     "n": 32768, "r": 8, "p": 1},
      "check": {"nonce": "<12 bytes>", "ciphertext": "<36 bytes>"},
      "current": "123456789012" | null,
      "tokens": [
        {"serial": "123456789012", "server": "https://ib.example.jp",
         "algorithm": "SHA1", "digits": 6, "period": 30,
         "activated_at": "2026-11-26T07:00:00Z", "expires_at": "2026-12-26T07:00:00Z" | null,
         "seed": {"nonce": "<12 bytes>", "ciphertext": "<20-byte seed + 16-byte tag>"}}
      ]
    }

- ``check`` is AES-256-GCM of the constant ``b"kinko-token vault v1"`` with associated data
  ``b"kinko-token check"``. It decrypts only under the right key, which tells a wrong PIN
  (``WrongPin``) from a damaged file (``VaultDamaged``: the check opens but a seed does not).
- Each ``seed`` is AES-256-GCM under the file key with a fresh 12-byte random nonce and the
  serial (ASCII) as associated data, so a seed cannot be moved to another serial unnoticed.
- The rest (serials, server, parameters, dates, ``current``) is in the clear: ``list``,
  ``use`` and ``remove`` need no key. Someone who may write the file can already delete it;
  what they cannot do is read or plant a seed.
- Tokens keep the order they were activated in; ``current`` is the one shown (during 交換 the
  old and the new token sit side by side). A newer version number is refused, never guessed.

Every failure is a ``VaultError`` (see ``kinko_token.errors``) with a one-line message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors
import platformdirs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.backends import fail as fail_keyring
from keyring.backends import null as null_keyring

from kinko.domain.activation import SEED_LENGTH, b64url, from_b64url
from kinko.domain.errors import InvalidInput
from kinko.domain.otp import Algorithm, TotpParameters
from kinko.domain.secrets import Secret, Seed
from kinko.domain.serials import format_serial, is_valid_serial
from kinko_token.errors import (
    InsecurePermissions,
    InvalidPin,
    KeyringUnavailable,
    PinRequired,
    TokenNotFound,
    UnsupportedVersion,
    VaultDamaged,
    VaultError,
    WrongPin,
)
from kinko_token.tokens import TokenInfo, format_timestamp, parse_timestamp

__all__ = [
    "ENV_DATA_DIR",
    "FILE_NAME",
    "KEYRING_SERVICE",
    "Pin",
    "Vault",
    "VaultFile",
    "VaultSummary",
    "default_data_dir",
    "keyring_usable",
]

FORMAT = "kinko-token"
VERSION = 1
FILE_NAME = "tokens.json"
LOCK_NAME = ".tokens.lock"
KEYRING_SERVICE = "kinko-token"
ENV_DATA_DIR = "KINKO_TOKEN_DATA_DIR"
APP_NAME = "kinko-token"

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

_KEY_BYTES = 32
_NONCE_BYTES = 12
_SALT_BYTES = 16
_TAG_BYTES = 16
_CHECK_PLAINTEXT = b"kinko-token vault v1"
_CHECK_AAD = b"kinko-token check"
_MAX_FILE_BYTES = 1 << 20  # a file with a few tokens is a few kilobytes
_POSIX = os.name == "posix"


# --- the PIN and where things live -----------------------------------------------------------


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


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$KINKO_TOKEN_DATA_DIR`` if set, else the platform's user data directory."""
    env = os.environ if environ is None else environ
    if env.get(ENV_DATA_DIR):
        return Path(env[ENV_DATA_DIR]).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def keyring_usable(backend: keyring.backend.KeyringBackend) -> bool:
    """Whether ``backend`` is a real keyring: priority above 0 and not the fail/null backend."""
    if isinstance(backend, fail_keyring.Keyring | null_keyring.Keyring):
        return False
    try:
        return float(backend.priority) > 0
    except Exception:  # keyring backends signal "not usable here" by raising from priority
        return False


# --- the file's pieces -----------------------------------------------------------------------


def _damaged(path: Path, what: str) -> VaultDamaged:
    return VaultDamaged(
        f"トークンファイルが壊れているか、変更されています / "
        f"the token file {path} is damaged or was changed: {what}"
    )


@dataclass(frozen=True)
class _Sealed:
    """An AES-256-GCM ciphertext (with its tag) and its nonce."""

    nonce: bytes
    ciphertext: bytes

    @classmethod
    def seal(cls, key: bytes, plaintext: bytes, aad: bytes) -> _Sealed:
        nonce = os.urandom(_NONCE_BYTES)
        return cls(nonce, AESGCM(key).encrypt(nonce, plaintext, aad))

    def open(self, key: bytes, aad: bytes) -> bytes:
        """The plaintext; InvalidTag under a wrong key or a changed ciphertext."""
        return AESGCM(key).decrypt(self.nonce, self.ciphertext, aad)

    def to_json(self) -> dict[str, str]:
        return {"nonce": b64url(self.nonce), "ciphertext": b64url(self.ciphertext)}


@dataclass(frozen=True)
class _PinProtection:
    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def derive(self, pin: Pin) -> bytes:
        kdf = Scrypt(salt=self.salt, length=_KEY_BYTES, n=self.n, r=self.r, p=self.p)
        return kdf.derive(pin.reveal().encode("utf-8"))

    def to_json(self) -> dict[str, Any]:
        return {"method": "pin", "kdf": "scrypt", "salt": b64url(self.salt),
                "n": self.n, "r": self.r, "p": self.p}


@dataclass(frozen=True)
class _KeyringProtection:
    username: str
    service: str = KEYRING_SERVICE

    def to_json(self) -> dict[str, Any]:
        return {"method": "keyring", "service": self.service, "username": self.username}


@dataclass(frozen=True)
class _Entry:
    info: TokenInfo
    seed: _Sealed

    def to_json(self) -> dict[str, Any]:
        info = self.info
        return {
            "serial": info.serial,
            "server": info.server,
            "algorithm": info.parameters.algorithm.value,
            "digits": info.parameters.digits,
            "period": info.parameters.period,
            "activated_at": format_timestamp(info.activated_at),
            "expires_at": None if info.expires_at is None else format_timestamp(info.expires_at),
            "seed": self.seed.to_json(),
        }


@dataclass(frozen=True)
class _Document:
    protection: _PinProtection | _KeyringProtection
    check: _Sealed
    current: str | None
    tokens: tuple[_Entry, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "protection": self.protection.to_json(),
            "check": self.check.to_json(),
            "current": self.current,
            "tokens": [entry.to_json() for entry in self.tokens],
        }

    def entry(self, serial: str) -> _Entry:
        for entry in self.tokens:
            if entry.info.serial == serial:
                return entry
        raise _not_found(serial)

    def without(self, serial: str) -> _Document:
        self.entry(serial)
        tokens = tuple(e for e in self.tokens if e.info.serial != serial)
        current = self.current
        if current == serial:
            current = tokens[-1].info.serial if tokens else None
        return replace(self, tokens=tokens, current=current)


def _shown(serial: str) -> str:
    return format_serial(serial) if is_valid_serial(serial) else serial


def _not_found(serial: str) -> TokenNotFound:
    return TokenNotFound(
        f"シリアル番号 {_shown(serial)} のトークンはこの端末にありません / "
        f"no token with serial {_shown(serial)} on this device"
    )


class _Reader:
    """Strict reading of the JSON document: every problem names the field and is one line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, what: str) -> VaultDamaged:
        return _damaged(self.path, what)

    def mapping(self, value: object, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{name} is not an object")
        return value

    def field(self, obj: dict[str, Any], key: str, kind: type, name: str) -> Any:
        value = obj.get(key)
        # bool is an int in Python; a JSON true is never a number here.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"{name}.{key} is missing or not a {kind.__name__}")
        return value

    def binary(self, obj: dict[str, Any], key: str, length: int, name: str) -> bytes:
        try:
            return from_b64url(self.field(obj, key, str, name), field=key, length=length)
        except InvalidInput:
            raise self.fail(f"{name}.{key} is not {length} bytes of base64url") from None

    def sealed(self, value: object, plaintext_length: int, name: str) -> _Sealed:
        obj = self.mapping(value, name)
        return _Sealed(
            nonce=self.binary(obj, "nonce", _NONCE_BYTES, name),
            ciphertext=self.binary(obj, "ciphertext", plaintext_length + _TAG_BYTES, name),
        )

    def timestamp(self, value: object, name: str) -> datetime:
        try:
            if isinstance(value, str):
                return parse_timestamp(value)
        except ValueError:
            pass
        raise self.fail(f"{name} is not a timestamp with a zone")

    def protection(self, value: object) -> _PinProtection | _KeyringProtection:
        obj = self.mapping(value, "protection")
        method = obj.get("method")
        if method == "keyring":
            username = self.field(obj, "username", str, "protection")
            service = self.field(obj, "service", str, "protection")
            if not 0 < len(username) <= 128 or service != KEYRING_SERVICE:
                raise self.fail("protection names an unexpected keyring entry")
            return _KeyringProtection(username=username, service=service)
        if method == "pin":
            if obj.get("kdf") != "scrypt":
                raise self.fail("protection.kdf is not scrypt")
            n = self.field(obj, "n", int, "protection")
            r = self.field(obj, "r", int, "protection")
            p = self.field(obj, "p", int, "protection")
            if not (
                _SCRYPT_N_RANGE[0] <= n <= _SCRYPT_N_RANGE[1] and n & (n - 1) == 0
                and _SCRYPT_R_RANGE[0] <= r <= _SCRYPT_R_RANGE[1]
                and _SCRYPT_P_RANGE[0] <= p <= _SCRYPT_P_RANGE[1]
            ):
                raise self.fail("protection has scrypt costs out of range")
            return _PinProtection(self.binary(obj, "salt", _SALT_BYTES, "protection"), n, r, p)
        raise self.fail("protection.method is neither keyring nor pin")

    def entry(self, value: object, index: int) -> _Entry:
        name = f"tokens[{index}]"
        obj = self.mapping(value, name)
        serial = self.field(obj, "serial", str, name)
        if not is_valid_serial(serial):
            raise self.fail(f"{name}.serial is not a valid serial number")
        server = self.field(obj, "server", str, name)
        try:
            parameters = TotpParameters(
                algorithm=Algorithm(self.field(obj, "algorithm", str, name)),
                digits=self.field(obj, "digits", int, name),
                period=self.field(obj, "period", int, name),
            )
        except (ValueError, InvalidInput):
            raise self.fail(f"{name} has unusable OTP parameters") from None
        expires = obj.get("expires_at")
        info = TokenInfo(
            serial=serial,
            server=server,
            parameters=parameters,
            activated_at=self.timestamp(obj.get("activated_at"), f"{name}.activated_at"),
            expires_at=None if expires is None else self.timestamp(expires, f"{name}.expires_at"),
        )
        return _Entry(info, self.sealed(obj.get("seed"), SEED_LENGTH, f"{name}.seed"))

    def document(self, raw: bytes) -> _Document:
        try:
            top = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise self.fail("it is not valid JSON") from None
        top = self.mapping(top, "the file")
        if top.get("format") != FORMAT:
            raise self.fail("it is not a kinko-token file")
        version = top.get("version")
        if version != VERSION:
            shown = version if isinstance(version, int) and not isinstance(version, bool) else "?"
            raise UnsupportedVersion(
                f"トークンファイルの形式 (version {shown}) に対応していません。アプリを更新して"
                f"ください / the token file {self.path} has format version {shown}, which this "
                f"app does not know (it knows {VERSION}); update the app"
            )
        tokens_value = top.get("tokens")
        if not isinstance(tokens_value, list):
            raise self.fail("tokens is not a list")
        tokens = tuple(self.entry(value, i) for i, value in enumerate(tokens_value))
        serials = [entry.info.serial for entry in tokens]
        if len(set(serials)) != len(serials):
            raise self.fail("a serial number appears twice")
        current = top.get("current")
        if current is not None and current not in serials:
            raise self.fail("current names no token in the file")
        if current is None and tokens:
            raise self.fail("current is empty while there are tokens")
        return _Document(
            protection=self.protection(top.get("protection")),
            check=self.sealed(top.get("check"), len(_CHECK_PLAINTEXT), "check"),
            current=current,
            tokens=tokens,
        )


# --- the file --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VaultSummary:
    """What the file says without its key: the tokens, the current one, the protection."""

    tokens: tuple[TokenInfo, ...]
    current: str | None
    pin_protected: bool


class VaultFile:
    """Where the tokens of this device live, before it is unlocked.

    ``keyring`` is the keyring backend to use; by default ``keyring.get_keyring()``, asked
    only when a key is actually needed. Tests pass an in-memory backend.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        keyring_backend: keyring.backend.KeyringBackend | None = None,
    ) -> None:
        self.directory = Path(directory) if directory is not None else default_data_dir()
        self.path = self.directory / FILE_NAME
        self._keyring = keyring_backend

    def __repr__(self) -> str:
        return f"VaultFile({str(self.path)!r})"

    # --- asking without a key

    def exists(self) -> bool:
        return self.path.exists()

    def keyring_usable(self) -> bool:
        """Whether a new file here can keep its key in the OS keyring (else a PIN is needed)."""
        return keyring_usable(self._backend())

    def summary(self) -> VaultSummary:
        """The tokens and the current one, read without a key."""
        document = self._read()
        return VaultSummary(
            tokens=tuple(entry.info for entry in document.tokens),
            current=document.current,
            pin_protected=isinstance(document.protection, _PinProtection),
        )

    def is_pin_protected(self) -> bool:
        return self.summary().pin_protected

    # --- opening

    def create(self, pin: Pin | None = None) -> Vault:
        """A new, empty file protected by ``pin``, or by a keyring key when ``pin`` is None.

        PinRequired if ``pin`` is None and there is no usable keyring; VaultError if a file
        is already there.
        """
        if pin is None and not self.keyring_usable():
            raise PinRequired(
                "この端末ではキーリングが使えないため、PIN(4〜12桁の数字)の設定が必要です / "
                "no OS keyring is available here, so a PIN of 4 to 12 digits is required"
            )
        with self._locked():
            if self.exists():
                raise VaultError(
                    f"トークンファイルはすでにあります / a token file already exists: {self.path}"
                )
            protection: _PinProtection | _KeyringProtection
            if pin is not None:
                protection = _PinProtection(salt=os.urandom(_SALT_BYTES))
                key = protection.derive(pin)
            else:
                protection = _KeyringProtection(username=self._keyring_username())
                key = os.urandom(_KEY_BYTES)
                self._store_keyring_key(protection, key)
            document = _Document(
                protection=protection,
                check=_Sealed.seal(key, _CHECK_PLAINTEXT, _CHECK_AAD),
                current=None,
                tokens=(),
            )
            self._write(document)
        return Vault(self, key, document)

    def unlock(self, pin: Pin | None = None) -> Vault:
        """The file opened with its key: from the keyring, or derived from ``pin``.

        PinRequired if the file is PIN-protected and ``pin`` is None (a PIN given for a
        keyring-protected file is not needed and is ignored); WrongPin if the PIN does not
        open it; VaultDamaged if it opens but a seed does not decrypt.
        """
        document = self._read()
        protection = document.protection
        if isinstance(protection, _PinProtection):
            if pin is None:
                raise PinRequired(
                    "このトークンはPINで保護されています。PINを入力してください / "
                    "the tokens on this device are protected by a PIN; enter the PIN"
                )
            key = protection.derive(pin)
            if not _opens(document.check, key):
                raise WrongPin("PINが正しくありません / the PIN is not correct")
        else:
            key = self._load_keyring_key(protection)
            if not _opens(document.check, key):
                raise _damaged(self.path, "the key in the OS keyring does not open it")
        return Vault(self, key, document)

    # --- changes that need no key

    def use(self, serial: str) -> TokenInfo:
        """Make the token with ``serial`` the current one; TokenNotFound if there is none."""
        document = self._update(lambda doc: replace(doc, current=doc.entry(serial).info.serial))
        return document.entry(serial).info

    def remove(self, serial: str) -> None:
        """Delete the token with ``serial`` (its seed is gone for good); if it was the current
        one, the most recently activated of the others becomes current."""
        self._update(lambda doc: doc.without(serial))

    # --- reading and writing

    def _read(self) -> _Document:
        try:
            with self.path.open("rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise _damaged(self.path, "it is not a regular file")
                if _POSIX and info.st_mode & 0o077:
                    mode = stat.S_IMODE(info.st_mode)
                    raise InsecurePermissions(
                        f"トークンファイルを他のユーザーも読める設定です (mode {mode:04o})。"
                        f"chmod 600 で直してください / the token file {self.path} is open to "
                        f"other users (mode {mode:04o}); run: chmod 600 {self.path}"
                    )
                raw = file.read(_MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            raise self._missing() from None
        except OSError as error:
            raise VaultError(
                f"トークンファイルを読めません / cannot read the token file {self.path}: "
                f"{error.strerror or error}"
            ) from None
        if len(raw) > _MAX_FILE_BYTES:
            raise _damaged(self.path, "it is far too large")
        return _Reader(self.path).document(raw)

    def _missing(self) -> TokenNotFound:
        return TokenNotFound(
            f"この端末にはまだトークンがありません / no token on this device yet "
            f"(no {self.path}); activate one first"
        )

    def _write(self, document: _Document) -> None:
        data = json.dumps(document.to_json(), indent=2, ensure_ascii=False).encode() + b"\n"
        try:
            self._make_directory()
            # mkstemp creates the file with mode 0600 in the same directory (same file system,
            # so os.replace is an atomic rename).
            handle, temporary = tempfile.mkstemp(
                dir=self.directory, prefix=".tokens-", suffix=".tmp"
            )
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                Path(temporary).replace(self.path)  # os.replace: atomic on one file system
            except BaseException:
                with contextlib.suppress(OSError):
                    Path(temporary).unlink()
                raise
            _fsync_directory(self.directory)
        except OSError as error:
            raise VaultError(
                f"トークンファイルを保存できません / cannot write the token file {self.path}: "
                f"{error.strerror or error}"
            ) from None

    def _make_directory(self) -> None:
        if not self.directory.exists():
            self.directory.mkdir(mode=0o700, parents=True)
            if _POSIX:
                self.directory.chmod(0o700)  # mkdir's mode is filtered by the umask

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the directory's lock file, so changes do not interleave."""
        try:
            self._make_directory()
            handle = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise VaultError(
                f"トークンファイルのフォルダを使えません / cannot use the folder "
                f"{self.directory}: {error.strerror or error}"
            ) from None
        try:
            if sys.platform != "win32":
                import fcntl

                fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)  # closing releases the lock

    def _update(self, change: Callable[[_Document], _Document]) -> _Document:
        """Read the file under the lock, apply ``change``, write the result back."""
        if not self.exists():
            raise self._missing()  # before _locked, which would create the directory
        with self._locked():
            document = change(self._read())
            self._write(document)
        return document

    # --- the keyring

    def _backend(self) -> keyring.backend.KeyringBackend:
        if self._keyring is None:
            self._keyring = keyring.get_keyring()
        return self._keyring

    def _keyring_username(self) -> str:
        return hashlib.sha256(str(self.path.absolute()).encode("utf-8")).hexdigest()

    def _store_keyring_key(self, protection: _KeyringProtection, key: bytes) -> None:
        try:
            self._backend().set_password(protection.service, protection.username, b64url(key))
        except keyring.errors.KeyringError as error:
            raise KeyringUnavailable(
                f"OSのキーリングに鍵を保存できません。PINを設定してください / the OS keyring "
                f"could not store the key ({type(error).__name__}); set a PIN instead"
            ) from None

    def _load_keyring_key(self, protection: _KeyringProtection) -> bytes:
        backend = self._backend()
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
                f"key for the token file {self.path}"
            )
        try:
            return from_b64url(stored, field="key", length=_KEY_BYTES)
        except InvalidInput:
            raise KeyringUnavailable(
                "OSのキーリングにある鍵が壊れています / the key in the OS keyring is damaged"
            ) from None


def _opens(check: _Sealed, key: bytes) -> bool:
    try:
        return check.open(key, _CHECK_AAD) == _CHECK_PLAINTEXT
    except InvalidTag:
        return False


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a directory)."""
    if not _POSIX:
        return
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


# --- the unlocked vault ----------------------------------------------------------------------


class Vault:
    """The tokens of this device with their seeds, opened by ``VaultFile.create`` or
    ``VaultFile.unlock``. Every change is written to the file at once."""

    def __init__(self, file: VaultFile, key: bytes, document: _Document) -> None:
        self.file = file
        self._key = key
        self._load(document)

    def __repr__(self) -> str:
        return f"Vault({str(self.file.path)!r}, tokens={len(self._tokens)})"

    @property
    def tokens(self) -> tuple[TokenInfo, ...]:
        """Every token on the device, oldest activation first."""
        return self._tokens

    @property
    def current(self) -> TokenInfo | None:
        """The token shown; None only when there is no token."""
        return self.token(self._current) if self._current is not None else None

    @property
    def pin_protected(self) -> bool:
        return self._pin_protected

    def token(self, serial: str) -> TokenInfo:
        for info in self._tokens:
            if info.serial == serial:
                return info
        raise _not_found(serial)

    def seed(self, serial: str) -> Seed:
        self.token(serial)
        return self._seeds[serial]

    def next_serial(self) -> str | None:
        """The serial after the current one, wrapping round; None with fewer than two tokens."""
        if len(self._tokens) < 2 or self._current is None:
            return None
        serials = [info.serial for info in self._tokens]
        return serials[(serials.index(self._current) + 1) % len(serials)]

    def add(self, info: TokenInfo, seed: Seed, *, make_current: bool = True) -> None:
        """Store a newly activated token (its seed encrypted), by default as the current one."""
        if not is_valid_serial(info.serial):
            raise VaultError(f"not a valid serial number: {info.serial}")
        if len(seed.reveal()) != SEED_LENGTH:
            raise VaultError(f"a seed must be {SEED_LENGTH} bytes")
        sealed = _Sealed.seal(self._key, seed.reveal(), info.serial.encode("ascii"))

        def change(document: _Document) -> _Document:
            self._check_same_key(document)
            if any(entry.info.serial == info.serial for entry in document.tokens):
                raise VaultError(
                    f"シリアル番号 {info.display_serial} はすでに登録されています / "
                    f"the token {info.display_serial} is already on this device"
                )
            current = document.current
            if make_current or current is None:
                current = info.serial
            tokens = (*document.tokens, _Entry(info, sealed))
            return replace(document, tokens=tokens, current=current)

        self._load(self.file._update(change))

    def use(self, serial: str) -> None:
        """Make ``serial`` the current token."""
        self.file.use(serial)
        self.refresh()

    def remove(self, serial: str) -> None:
        """Delete the token ``serial`` from the device."""
        self.file.remove(serial)
        self.refresh()

    def refresh(self) -> None:
        """Read the file again (another process may have changed it)."""
        document = self.file._read()
        self._check_same_key(document)
        self._load(document)

    def _check_same_key(self, document: _Document) -> None:
        if not _opens(document.check, self._key):
            raise VaultError(
                "トークンファイルが別のプログラムで作り直されました。"
                "アプリを起動し直してください / the token file was re-created by another "
                "program; start the app again"
            )

    def _load(self, document: _Document) -> None:
        seeds: dict[str, Seed] = {}
        for entry in document.tokens:
            serial = entry.info.serial
            try:
                seeds[serial] = Seed(entry.seed.open(self._key, serial.encode("ascii")))
            except InvalidTag:
                raise _damaged(
                    self.file.path, f"the seed of {format_serial(serial)} does not decrypt"
                ) from None
        self._tokens = tuple(entry.info for entry in document.tokens)
        self._current = document.current
        self._seeds = seeds
        self._pin_protected = isinstance(document.protection, _PinProtection)
