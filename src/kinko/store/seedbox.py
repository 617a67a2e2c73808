"""Token seeds sealed at rest with AES-256-GCM under a rotatable keyring.

The key id is stored beside each ciphertext and the serial is the associated data. The same
keyring also keys the audit events' MACs (``SeedBox.audit_mac``, through HKDF).
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kinko.domain.errors import InvalidInput, KinkoError
from kinko.domain.secrets import Seed
from kinko.store.keyring import FileStamp, Keyring, KeyringError, file_stamp, read_key_file

__all__ = [
    "AUDIT_MAC_INFO",
    "NONCE_BYTES",
    "SealedSeed",
    "SeedBox",
    "SeedUnavailable",
]

NONCE_BYTES = 12
TAG_BYTES = 16

_AAD_PREFIX = b"kinko seed v1 "
#: HKDF ``info`` of the audit MAC key: ``HKDF-SHA256(ikm = a keyring key, salt = none,
#: info = AUDIT_MAC_INFO, length = 32)``. A key of its own, never the seed key itself.
AUDIT_MAC_INFO = b"kinko audit mac v1"


class SeedUnavailable(KinkoError):
    """The token's seed cannot be opened."""

    code = "seed_unavailable"


@dataclass(frozen=True)
class SealedSeed:
    """A seed as stored: the id of the key that sealed it, the nonce, and ciphertext + tag."""

    key_id: str
    nonce: bytes
    ciphertext: bytes



@dataclass(frozen=True, repr=False)
class _State:
    keyring: Keyring
    ciphers: Mapping[str, AESGCM]
    stamp: FileStamp | None
    #: Per key id, the audit MAC key derived from it (see ``AUDIT_MAC_INFO``).
    audit_keys: Mapping[str, bytes]


def _audit_mac_key(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=AUDIT_MAC_INFO).derive(key)


def _state(keyring: Keyring, stamp: FileStamp | None) -> _State:
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
            stamp = file_stamp(path.stat())
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
            keyring, stamp = read_key_file(path)
        except FileNotFoundError:
            raise KeyringError(f"key file {path} does not exist") from None
        # One reference swap: readers see the old state or the new, never a mix.
        self._state = _state(keyring, stamp)
