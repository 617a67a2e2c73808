"""Token seeds sealed at rest with AES-256-GCM under a rotatable keyring.

The key id is stored beside each ciphertext and the serial is the associated data. The same
keyring also keys the audit events' MACs (``SeedBox.audit_mac``, through HKDF).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kinko.domain.errors import InvalidInput, KinkoError
from kinko.domain.secrets import Seed

__all__ = [
    "AUDIT_MAC_INFO",
    "KEY_BYTES",
    "NONCE_BYTES",
    "Keyring",
    "KeyringError",
    "SealedSeed",
    "SeedBox",
    "SeedUnavailable",
    "key_id_for",
]

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
FILE_VERSION = 1

_KEY_ID_CONTEXT = b"kinko key id v1"
_AAD_PREFIX = b"kinko seed v1 "
#: HKDF ``info`` of the audit MAC key: ``HKDF-SHA256(ikm = a keyring key, salt = none,
#: info = AUDIT_MAC_INFO, length = 32)``. A key of its own, never the seed key itself.
AUDIT_MAC_INFO = b"kinko audit mac v1"


class KeyringError(KinkoError):
    """The seed-encryption key material is missing, unreadable or corrupt."""

    code = "keyring_error"


class SeedUnavailable(KinkoError):
    """The token's seed cannot be opened."""

    code = "seed_unavailable"


@dataclass(frozen=True)
class SealedSeed:
    """A seed as stored: the id of the key that sealed it, the nonce, and ciphertext + tag."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


def key_id_for(key: bytes) -> str:
    """Return the id of ``key``: a fingerprint, so a key has the same id wherever it is loaded."""
    return hashlib.sha256(_KEY_ID_CONTEXT + key).hexdigest()[:16]


def _encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def _decode_key(value: str) -> bytes:
    """Decode base64url or standard base64, padding optional; raise ``ValueError`` if invalid."""
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None


@dataclass(frozen=True, repr=False)
class Keyring:
    """The AES-256 keys that seal seeds, by key id, and which one seals new seeds.

    Old keys stay so that seeds sealed under them still open; once every seed has
    been resealed under the current key (see ``SeedBox.needs_rotation``) they can be
    dropped with ``without_keys``, which remembers their ids in ``pruned_ids``: audit
    events sealed under a pruned key's MAC are then covered by the chain alone, while a
    key id that was never in the keyring is a forgery (see ``kinko.store.audit_chain``).

    Key file format (UTF-8 JSON, mode 0600 in a 0700 directory)::

        {"version": 1,
         "current": "<key id>",
         "keys": {"<key id>": "<key, base64url without padding>", ...},
         "pruned": ["<key id>", ...]}

    Each key id must equal ``key_id_for(key)``; ``pruned`` may be absent (files written
    before it existed). The file is always replaced atomically, so a reader never sees
    half of it.
    """

    keys: Mapping[str, bytes]
    current_id: str
    pruned_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        keys = dict(self.keys)
        pruned = frozenset(self.pruned_ids)
        if not all(isinstance(key_id, str) for key_id in pruned):
            raise KeyringError("pruned key ids are strings")
        if pruned & keys.keys():
            raise KeyringError(f"keys {', '.join(sorted(pruned & keys.keys()))} are both "
                               "held and pruned")
        object.__setattr__(self, "pruned_ids", pruned)
        for key_id, key in keys.items():
            if not isinstance(key, bytes):
                raise KeyringError(f"key {key_id} is not bytes")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"key {key_id} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
            if key_id_for(key) != key_id:
                raise KeyringError(f"key id {key_id} does not match the fingerprint of its key")
        if self.current_id not in keys:
            raise KeyringError(f"the current key {self.current_id} is not in the keyring")
        # Freeze the mapping too, so nobody swaps a key under a running SeedBox.
        object.__setattr__(self, "keys", MappingProxyType(keys))

    def __repr__(self) -> str:
        return f"Keyring(current_id={self.current_id!r}, key_ids={sorted(self.keys)!r})"

    @classmethod
    def from_key(cls, key: bytes) -> Keyring:
        """A keyring holding only ``key``, which is current."""
        key_id = key_id_for(key)
        return cls(keys={key_id: key}, current_id=key_id)

    @classmethod
    def from_env_value(cls, value: str) -> Keyring:
        """A keyring from one key given as base64url or base64 text (padding optional)."""
        try:
            key = _decode_key(value)
        except ValueError:
            raise KeyringError("the key value is not valid base64 or base64url") from None
        if len(key) != KEY_BYTES:
            raise KeyringError(f"the key value decodes to {len(key)} bytes; need {KEY_BYTES}")
        return cls.from_key(key)

    @classmethod
    def generate(cls) -> Keyring:
        """A keyring with one fresh random key."""
        return cls.from_key(AESGCM.generate_key(bit_length=KEY_BYTES * 8))

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read a key file; raise ``KeyringError`` saying what is wrong with it."""
        try:
            keyring, _ = _read_key_file(path)
        except FileNotFoundError:
            raise KeyringError(f"key file {path} does not exist") from None
        return keyring

    @classmethod
    def load_or_create(cls, path: Path) -> tuple[Keyring, bool]:
        """Read the key file, or create it with a fresh key; True if it was created.

        Creation never replaces a file another process created meanwhile: the new
        file is linked into place only if nothing is there, otherwise that one is read.
        """
        try:
            keyring, _ = _read_key_file(path)
        except FileNotFoundError:
            pass
        else:
            return keyring, False
        keyring = cls.generate()
        try:
            _write_key_file(path, keyring, replace=False)
        except FileExistsError:
            return cls.load(path), False
        return keyring, True

    def with_new_key(self) -> Keyring:
        """This keyring plus a fresh random key, which becomes current."""
        key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        key_id = key_id_for(key)
        return Keyring(keys={**self.keys, key_id: key}, current_id=key_id,
                       pruned_ids=self.pruned_ids)

    def without_keys(self, ids: Iterable[str]) -> Keyring:
        """This keyring without the keys ``ids``; the current key cannot be dropped."""
        drop = set(ids)
        if self.current_id in drop:
            raise KeyringError(f"key {self.current_id} is current and cannot be dropped")
        unknown = drop - set(self.keys)
        if unknown:
            raise KeyringError(f"no such keys in the keyring: {', '.join(sorted(unknown))}")
        kept = {key_id: key for key_id, key in self.keys.items() if key_id not in drop}
        return Keyring(keys=kept, current_id=self.current_id,
                       pruned_ids=self.pruned_ids | drop)

    def save(self, path: Path) -> None:
        """Write the key file atomically with mode 0600, creating its directory 0700."""
        _write_key_file(path, self, replace=True)


# A key file's identity as seen by os.stat: it changes whenever the file is replaced.
_Stamp = tuple[int, int, int, int]


def _stamp(st: os.stat_result) -> _Stamp:
    # The inode changes on every atomic replace, even when mtime is coarse and the size equal.
    return (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)


def _read_key_file(path: Path) -> tuple[Keyring, _Stamp]:
    """Parse a key file; ``FileNotFoundError`` if it is missing, ``KeyringError`` if it is bad."""
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if os.name == "posix" and st.st_mode & 0o077:
                mode = stat.S_IMODE(st.st_mode)
                raise KeyringError(
                    f"key file {path} is accessible by group or others (mode {mode:04o}); "
                    f"run: chmod 600 {path}"
                )
            raw = f.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyringError(f"key file {path} cannot be read: {exc.strerror}") from None
    return _parse_key_file(path, raw), _stamp(st)


def _parse_key_file(path: Path, raw: bytes) -> Keyring:
    # Messages name the file and the key id at fault, never the bytes: a JSON or
    # Unicode error's own text could quote them, so it is not passed on.
    try:
        doc: Any = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise KeyringError(f"key file {path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise KeyringError(
            f"key file {path} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(doc, dict):
        raise KeyringError(f"key file {path} does not hold a JSON object")
    if doc.get("version") != FILE_VERSION:
        raise KeyringError(f"key file {path} is not version {FILE_VERSION}")
    current = doc.get("current")
    if not isinstance(current, str):
        raise KeyringError(f"key file {path} has no current key id")
    entries = doc.get("keys")
    if not isinstance(entries, dict) or not entries:
        raise KeyringError(f"key file {path} has no keys")
    keys: dict[str, bytes] = {}
    for key_id, text in entries.items():
        if not isinstance(text, str):
            raise KeyringError(f"key {key_id} in {path} is not a string")
        try:
            keys[key_id] = _decode_key(text)
        except ValueError:
            raise KeyringError(f"key {key_id} in {path} is not valid base64url") from None
    pruned = doc.get("pruned", [])
    if not isinstance(pruned, list) or not all(isinstance(k, str) for k in pruned):
        raise KeyringError(f"key file {path} has a pruned list that is not key ids")
    try:
        return Keyring(keys=keys, current_id=current, pruned_ids=frozenset(pruned))
    except KeyringError as exc:
        raise KeyringError(f"key file {path}: {exc}") from None


def _write_key_file(path: Path, keyring: Keyring, *, replace: bool) -> None:
    """Write ``keyring`` to ``path`` atomically.

    With ``replace`` the file takes the place of any existing one; without, the call
    raises ``FileExistsError`` if ``path`` exists and leaves that file alone. Any
    other failure is a ``KeyringError``.
    """
    try:
        _write_key_file_unchecked(path, keyring, replace=replace)
    except OSError as exc:
        if isinstance(exc, FileExistsError) and not replace:
            raise
        raise KeyringError(f"key file {path} cannot be written: {exc.strerror}") from None


def _write_key_file_unchecked(path: Path, keyring: Keyring, *, replace: bool) -> None:
    parent = path.parent
    try:
        parent.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass  # an existing directory keeps the mode its owner gave it
    else:
        parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    doc = {
        "version": FILE_VERSION,
        "current": keyring.current_id,
        "keys": {key_id: _encode_key(key) for key_id, key in sorted(keyring.keys.items())},
        "pruned": sorted(keyring.pruned_ids),
    }
    data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
    tmp = parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            tmp.replace(path)
        else:
            path.hardlink_to(tmp)  # atomic create-if-absent, with the content already in place
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename itself is done
    finally:
        os.close(fd)


@dataclass(frozen=True, repr=False)
class _State:
    keyring: Keyring
    ciphers: Mapping[str, AESGCM]
    stamp: _Stamp | None
    #: Per key id, the audit MAC key derived from it (see ``AUDIT_MAC_INFO``).
    audit_keys: Mapping[str, bytes]


def _audit_mac_key(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=AUDIT_MAC_INFO).derive(key)


def _state(keyring: Keyring, stamp: _Stamp | None) -> _State:
    ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}
    audit_keys = {key_id: _audit_mac_key(key) for key_id, key in keyring.keys.items()}
    return _State(keyring=keyring, ciphers=ciphers, stamp=stamp, audit_keys=audit_keys)


def _aad(serial: str) -> bytes:
    try:
        return _AAD_PREFIX + serial.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidInput("a serial number must be ASCII") from None


class SeedBox:
    """Seals and opens token seeds with a keyring, following rotations of its key file.

    Given a ``key_file``, the box notices when another process (``kinko keys
    rotate``) has replaced the file: ``seal`` checks the file's stat before each
    seal and reloads it when it changed, so new seeds go under the new current
    key; ``open`` reloads once when a seed names a key id it does not know. A
    failed reload raises ``KeyringError`` and keeps the keys already loaded.

    Nonces are 96 random bits, well within GCM's limit for the number of seeds a
    bank seals under one key. Thread-safe; it never logs.
    """

    def __init__(self, keyring: Keyring, *, key_file: Path | None = None) -> None:
        self._key_file = key_file
        self._lock = threading.Lock()
        # No stamp yet: the file may have changed since ``keyring`` was read from
        # it, so the first seal re-reads it once.
        self._state = _state(keyring, stamp=None)

    @property
    def current_key_id(self) -> str:
        return self._state.keyring.current_id

    def seal(self, serial: str, seed: Seed) -> SealedSeed:
        """Encrypt ``seed`` under the current key, bound to ``serial``."""
        aad = _aad(serial)
        state = self._refresh_if_changed()
        key_id = state.keyring.current_id
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = state.ciphers[key_id].encrypt(nonce, seed.reveal(), aad)
        return SealedSeed(key_id=key_id, nonce=nonce, ciphertext=ciphertext)

    def open(self, serial: str, sealed: SealedSeed) -> Seed:
        """Decrypt ``sealed``; raise ``SeedUnavailable`` if it cannot be opened for ``serial``."""
        aad = _aad(serial)
        state = self._state
        if sealed.key_id not in state.ciphers and self._key_file is not None:
            state = self._refresh_if_changed()
        cipher = state.ciphers.get(sealed.key_id)
        if cipher is None:
            raise SeedUnavailable(f"the seed is sealed under key {sealed.key_id}, which is unknown")
        if len(sealed.nonce) != NONCE_BYTES or len(sealed.ciphertext) < TAG_BYTES:
            raise SeedUnavailable
        try:
            return Seed(cipher.decrypt(sealed.nonce, sealed.ciphertext, aad))
        except (InvalidTag, ValueError):
            raise SeedUnavailable from None

    def knows(self, key_id: str) -> bool:
        """True if seeds sealed under ``key_id`` can be opened here; like ``open``, an unknown
        id first re-reads a key file that changed (``KeyringError`` if it is now bad)."""
        if key_id in self._state.ciphers:
            return True
        return key_id in self._refresh_if_changed().ciphers

    def audit_mac(self, message: bytes) -> tuple[str, bytes]:
        """HMAC-SHA256 of ``message`` under the audit MAC key of the current key: (key id,
        32-byte tag). Like ``seal``, it first re-reads a key file that was replaced, so
        events are MACed under the key that ``kinko keys rotate`` made current."""
        state = self._refresh_if_changed()
        key_id = state.keyring.current_id
        return key_id, hmac.digest(state.audit_keys[key_id], message, "sha256")

    def check_audit_mac(self, key_id: str, message: bytes, tag: bytes) -> bool | None:
        """Whether ``tag`` is the audit MAC of ``message`` under key ``key_id`` (constant-time
        compare); None when no such key is held, even after re-reading a changed key file."""
        state = self._state
        if key_id not in state.audit_keys and self._key_file is not None:
            state = self._refresh_if_changed()
        key = state.audit_keys.get(key_id)
        if key is None:
            return None
        return hmac.compare_digest(hmac.digest(key, message, "sha256"), tag)

    def audit_key_pruned(self, key_id: str) -> bool:
        """True if ``key_id`` was in this keyring once and pruned from it (``without_keys``)."""
        if key_id in self._state.keyring.pruned_ids:
            return True
        return key_id in self._refresh_if_changed().keyring.pruned_ids

    def needs_rotation(self, sealed: SealedSeed) -> bool:
        """True if ``sealed`` is not under the current key and should be resealed."""
        return sealed.key_id != self.current_key_id

    def reload(self) -> None:
        """Re-read the key file now; without a key file there is nothing to do."""
        if self._key_file is None:
            return
        with self._lock:
            self._reload_locked(self._key_file)

    def _refresh_if_changed(self) -> _State:
        path = self._key_file
        if path is None:
            return self._state
        try:
            stamp = _stamp(path.stat())
        except FileNotFoundError:
            raise KeyringError(f"key file {path} does not exist") from None
        except OSError as exc:
            raise KeyringError(f"key file {path} cannot be read: {exc.strerror}") from None
        if stamp == self._state.stamp:
            return self._state
        with self._lock:
            if stamp != self._state.stamp:  # another thread may have reloaded meanwhile
                self._reload_locked(path)
            return self._state

    def _reload_locked(self, path: Path) -> None:
        try:
            keyring, stamp = _read_key_file(path)
        except FileNotFoundError:
            raise KeyringError(f"key file {path} does not exist") from None
        # One reference swap: readers see the old state or the new, never a mix.
        self._state = _state(keyring, stamp)
