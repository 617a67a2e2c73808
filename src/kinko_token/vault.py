"""The token app's storage on the device: one JSON file holding every token, each seed
AES-256-GCM encrypted under one file key. ``VaultFile`` and ``Vault`` are what the app and the
CLI use; the document is ``vault_format``'s and the keys and sealing are ``vault_crypto``'s.

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

Every failure is a ``VaultError`` (see ``kinko_token.errors``) with a one-line message.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import keyring
import keyring.backend
import platformdirs

from kinko.domain.activation import SEED_LENGTH
from kinko.domain.secrets import Seed
from kinko.domain.serials import format_serial, is_valid_serial
from kinko_token.errors import (
    InsecurePermissions,
    PinRequired,
    TokenAppError,
    TokenNotFound,
    VaultError,
    WrongPin,
)
from kinko_token.tokens import TokenInfo
from kinko_token.vault_crypto import (
    KEYRING_SERVICE,
    KeyringProtection,
    Pin,
    PinProtection,
    check_opens,
    keyring_usable,
    load_keyring_key,
    new_keyring_protection,
    new_pin_protection,
    open_seed,
    seal_check,
    seal_seed,
)
from kinko_token.vault_format import (
    Document,
    Entry,
    damaged,
    dump_document,
    not_found,
    parse_document,
)

__all__ = [
    "ENV_DATA_DIR",
    "ENV_SERVER",
    "FILE_NAME",
    "KEYRING_SERVICE",
    "Pin",
    "Vault",
    "VaultFile",
    "VaultSummary",
    "default_data_dir",
    "keyring_usable",
]

FILE_NAME = "tokens.json"
LOCK_NAME = ".tokens.lock"
ENV_DATA_DIR = "KINKO_TOKEN_DATA_DIR"
#: The kinko server this installation of the app is for (``activate``'s default).
ENV_SERVER = "KINKO_TOKEN_SERVER"
APP_NAME = "kinko-token"

_MAX_FILE_BYTES = 1 << 20  # a file with a few tokens is a few kilobytes
_POSIX = os.name == "posix"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$KINKO_TOKEN_DATA_DIR`` if set, else the platform's user data directory."""
    env = os.environ if environ is None else environ
    if env.get(ENV_DATA_DIR):
        return Path(env[ENV_DATA_DIR]).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


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
            pin_protected=isinstance(document.protection, PinProtection),
        )

    def is_pin_protected(self) -> bool:
        return self.summary().pin_protected

    def default_server(self) -> str | None:
        """The server a new token is activated with when none is named: $KINKO_TOKEN_SERVER
        (set where the app is installed for one bank), else the server this device's
        current (or newest) token came from, which remembers what was given the first time;
        None when neither says (then the customer is asked)."""
        configured = os.environ.get(ENV_SERVER, "").strip()
        if configured:
            return configured
        try:
            summary = self.summary() if self.exists() else None
        except TokenAppError:  # an unreadable file is reported by the command itself
            return None
        if summary is None or not summary.tokens:
            return None
        current = [t for t in summary.tokens if t.serial == summary.current]
        return (current or list(summary.tokens))[-1].server

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
            protection: PinProtection | KeyringProtection
            if pin is not None:
                protection, key = new_pin_protection(pin)
            else:
                protection, key = new_keyring_protection(self._backend(), self.path)
            document = Document(protection=protection, check=seal_check(key), current=None,
                                tokens=())
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
        if isinstance(protection, PinProtection):
            if pin is None:
                raise PinRequired(
                    "このトークンはPINで保護されています。PINを入力してください / "
                    "the tokens on this device are protected by a PIN; enter the PIN"
                )
            key = protection.derive(pin)
            if not check_opens(document.check, key):
                raise WrongPin("PINが正しくありません / the PIN is not correct")
        else:
            key = load_keyring_key(self._backend(), protection, self.path)
            if not check_opens(document.check, key):
                raise damaged(self.path, "the key in the OS keyring does not open it")
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

    def _read(self) -> Document:
        try:
            with self.path.open("rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise damaged(self.path, "it is not a regular file")
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
            raise damaged(self.path, "it is far too large")
        return parse_document(raw, self.path)

    def _missing(self) -> TokenNotFound:
        return TokenNotFound(
            f"この端末にはまだトークンがありません / no token on this device yet "
            f"(no {self.path}); activate one first"
        )

    def _write(self, document: Document) -> None:
        data = dump_document(document)
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

    def _update(self, change: Callable[[Document], Document]) -> Document:
        """Read the file under the lock, apply ``change``, write the result back."""
        if not self.exists():
            raise self._missing()  # before _locked, which would create the directory
        with self._locked():
            document = change(self._read())
            self._write(document)
        return document

    def _backend(self) -> keyring.backend.KeyringBackend:
        if self._keyring is None:
            self._keyring = keyring.get_keyring()
        return self._keyring


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

    def __init__(self, file: VaultFile, key: bytes, document: Document) -> None:
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
        raise not_found(serial)

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
        sealed = seal_seed(self._key, seed, info.serial)

        def change(document: Document) -> Document:
            self._check_same_key(document)
            if any(entry.info.serial == info.serial for entry in document.tokens):
                raise VaultError(
                    f"シリアル番号 {info.display_serial} はすでに登録されています / "
                    f"the token {info.display_serial} is already on this device"
                )
            current = document.current
            if make_current or current is None:
                current = info.serial
            tokens = (*document.tokens, Entry(info, sealed))
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

    def _check_same_key(self, document: Document) -> None:
        if not check_opens(document.check, self._key):
            raise VaultError(
                "トークンファイルが別のプログラムで作り直されました。"
                "アプリを起動し直してください / the token file was re-created by another "
                "program; start the app again"
            )

    def _load(self, document: Document) -> None:
        seeds: dict[str, Seed] = {}
        for entry in document.tokens:
            serial = entry.info.serial
            seed = open_seed(entry.seed, self._key, serial)
            if seed is None:
                what = f"the seed of {format_serial(serial)} does not decrypt"
                raise damaged(self.file.path, what)
            seeds[serial] = seed
        self._tokens = tuple(entry.info for entry in document.tokens)
        self._current = document.current
        self._seeds = seeds
        self._pin_protected = isinstance(document.protection, PinProtection)
