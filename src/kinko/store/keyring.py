"""The keyring: the AES-256 keys that seal seeds (and key the audit MACs), by key id, and
the key file that holds them between processes, always replaced atomically.

``kinko.store.seedbox`` seals and opens seeds with a keyring; ``kinko.store.keys``
rotates and prunes the file while servers run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kinko.domain.errors import KinkoError

__all__ = [
    "KEY_BYTES",
    "FileStamp",
    "Keyring",
    "KeyringError",
    "file_stamp",
    "key_id_for",
    "read_key_file",
]

KEY_BYTES = 32
FILE_VERSION = 1

_KEY_ID_CONTEXT = b"kinko key id v1"


class KeyringError(KinkoError):
    """The seed-encryption key material is missing, unreadable or corrupt."""

    code = "keyring_error"



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
            keyring, _ = read_key_file(path)
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
            keyring, _ = read_key_file(path)
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
FileStamp = tuple[int, int, int, int]


def file_stamp(st: os.stat_result) -> FileStamp:
    # The inode changes on every atomic replace, even when mtime is coarse and the size equal.
    return (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)


def read_key_file(path: Path) -> tuple[Keyring, FileStamp]:
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
    return _parse_key_file(path, raw), file_stamp(st)


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
