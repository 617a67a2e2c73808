"""The token file's document: what version 1 holds, written as JSON and read back strictly,
every problem reported as a one-line ``VaultDamaged`` that names the field.

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

- ``check`` and each ``seed`` are sealed as ``kinko_token.vault_crypto`` says.
- The rest (serials, server, parameters, dates, ``current``) is in the clear: ``list``,
  ``use`` and ``remove`` need no key. Someone who may write the file can already delete it;
  what they cannot do is read or plant a seed.
- Tokens keep the order they were activated in; ``current`` is the one shown (during 交換 the
  old and the new token sit side by side). A newer version number is refused, never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from kinko.domain.activation import SEED_LENGTH, b64url, from_b64url
from kinko.domain.errors import InvalidInput
from kinko.domain.otp import Algorithm, TotpParameters
from kinko.domain.serials import format_serial, is_valid_serial
from kinko_token.errors import TokenNotFound, UnsupportedVersion, VaultDamaged
from kinko_token.tokens import TokenInfo, format_timestamp, parse_timestamp
from kinko_token.vault_crypto import (
    CHECK_PLAINTEXT,
    KEYRING_SERVICE,
    NONCE_BYTES,
    SALT_BYTES,
    TAG_BYTES,
    KeyringProtection,
    PinProtection,
    Sealed,
)

__all__ = [
    "FORMAT",
    "VERSION",
    "Document",
    "Entry",
    "damaged",
    "dump_document",
    "not_found",
    "parse_document",
]

FORMAT = "kinko-token"
VERSION = 1


def damaged(path: Path, what: str) -> VaultDamaged:
    """The one error for a file that is not what this app wrote: ``what`` says which part."""
    return VaultDamaged(
        f"トークンファイルが壊れているか、変更されています / "
        f"the token file {path} is damaged or was changed: {what}"
    )


def _shown(serial: str) -> str:
    return format_serial(serial) if is_valid_serial(serial) else serial


def not_found(serial: str) -> TokenNotFound:
    """The error for a serial that is not on this device."""
    return TokenNotFound(
        f"シリアル番号 {_shown(serial)} のトークンはこの端末にありません / "
        f"no token with serial {_shown(serial)} on this device"
    )


# --- the document ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One token in the file: what it is in the clear, its seed sealed."""

    info: TokenInfo
    seed: Sealed


@dataclass(frozen=True)
class Document:
    """The whole file as read or about to be written; changes make a new Document."""

    protection: PinProtection | KeyringProtection
    check: Sealed
    current: str | None
    tokens: tuple[Entry, ...]

    def entry(self, serial: str) -> Entry:
        for entry in self.tokens:
            if entry.info.serial == serial:
                return entry
        raise not_found(serial)

    def without(self, serial: str) -> Document:
        self.entry(serial)
        tokens = tuple(e for e in self.tokens if e.info.serial != serial)
        current = self.current
        if current == serial:
            current = tokens[-1].info.serial if tokens else None
        return replace(self, tokens=tokens, current=current)


# --- writing ---------------------------------------------------------------------------------


def _sealed_json(sealed: Sealed) -> dict[str, str]:
    return {"nonce": b64url(sealed.nonce), "ciphertext": b64url(sealed.ciphertext)}


def _protection_json(protection: PinProtection | KeyringProtection) -> dict[str, Any]:
    if isinstance(protection, PinProtection):
        return {"method": "pin", "kdf": "scrypt", "salt": b64url(protection.salt),
                "n": protection.n, "r": protection.r, "p": protection.p}
    return {"method": "keyring", "service": protection.service, "username": protection.username}


def _entry_json(entry: Entry) -> dict[str, Any]:
    info = entry.info
    return {
        "serial": info.serial,
        "server": info.server,
        "algorithm": info.parameters.algorithm.value,
        "digits": info.parameters.digits,
        "period": info.parameters.period,
        "activated_at": format_timestamp(info.activated_at),
        "expires_at": None if info.expires_at is None else format_timestamp(info.expires_at),
        "seed": _sealed_json(entry.seed),
    }


def dump_document(document: Document) -> bytes:
    """The file's bytes: indented UTF-8 JSON with a final newline."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "protection": _protection_json(document.protection),
        "check": _sealed_json(document.check),
        "current": document.current,
        "tokens": [_entry_json(entry) for entry in document.tokens],
    }
    return json.dumps(data, indent=2, ensure_ascii=False).encode() + b"\n"


# --- reading ---------------------------------------------------------------------------------


def parse_document(raw: bytes, path: Path) -> Document:
    """The document in ``raw``, read from ``path`` (named in errors).

    VaultDamaged for anything this app would not have written; UnsupportedVersion for a
    format version it does not know.
    """
    return _Reader(path).document(raw)


class _Reader:
    """Strict reading of the JSON document: every problem names the field and is one line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, what: str) -> VaultDamaged:
        return damaged(self.path, what)

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

    def sealed(self, value: object, plaintext_length: int, name: str) -> Sealed:
        obj = self.mapping(value, name)
        return Sealed(
            nonce=self.binary(obj, "nonce", NONCE_BYTES, name),
            ciphertext=self.binary(obj, "ciphertext", plaintext_length + TAG_BYTES, name),
        )

    def timestamp(self, value: object, name: str) -> datetime:
        try:
            if isinstance(value, str):
                return parse_timestamp(value)
        except ValueError:
            pass
        raise self.fail(f"{name} is not a timestamp with a zone")

    def protection(self, value: object) -> PinProtection | KeyringProtection:
        obj = self.mapping(value, "protection")
        method = obj.get("method")
        if method == "keyring":
            username = self.field(obj, "username", str, "protection")
            service = self.field(obj, "service", str, "protection")
            if not 0 < len(username) <= 128 or service != KEYRING_SERVICE:
                raise self.fail("protection names an unexpected keyring entry")
            return KeyringProtection(username=username, service=service)
        if method == "pin":
            if obj.get("kdf") != "scrypt":
                raise self.fail("protection.kdf is not scrypt")
            n = self.field(obj, "n", int, "protection")
            r = self.field(obj, "r", int, "protection")
            p = self.field(obj, "p", int, "protection")
            salt = self.binary(obj, "salt", SALT_BYTES, "protection")
            try:
                return PinProtection(salt, n, r, p)
            except ValueError:
                raise self.fail("protection has scrypt costs out of range") from None
        raise self.fail("protection.method is neither keyring nor pin")

    def entry(self, value: object, index: int) -> Entry:
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
        return Entry(info, self.sealed(obj.get("seed"), SEED_LENGTH, f"{name}.seed"))

    def document(self, raw: bytes) -> Document:
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
        return Document(
            protection=self.protection(top.get("protection")),
            check=self.sealed(top.get("check"), len(CHECK_PLAINTEXT), "check"),
            current=current,
            tokens=tokens,
        )
