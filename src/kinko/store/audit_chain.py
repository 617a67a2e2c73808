"""The audit trail's tamper evidence, specified: each event's MAC, made as it is written, and
the SHA-256 chain's encoding. The rest of the trail builds on this module: sealing
(``audit_seal``), verifying (``audit_verify``), reading (``audit_search``), and the port the
services use (``audit_trail``).

Writing. Services only ever INSERT events (``SqlAuditLog.record``, and on PostgreSQL the
verification shortcut's one statement that spends the step and inserts its event), in their
own unit of work: an OTP check never waits for the chain. Each INSERT carries the writer's
MAC of the event, computed in Python just before the statement and bound like any value::

    mac = HMAC-SHA256( K(mac_key_id), mac_encoding(mac_nonce, event) )        (hex, lowercase)
    K(id) = HKDF-SHA256( ikm = the seed keyring's key ``id``, salt = none,
                         info = b"kinko audit mac v1", length = 32 )

``mac_key_id`` is the keyring's current key when the event is written (so ``kinko keys
rotate`` simply moves new events to the new key), ``mac_nonce`` 16 random bytes in hex.
``mac_encoding`` is the JSON document described below for the chain, holding ``"v": 1``,
``"mac_nonce"`` and every field of ``MAC_FIELDS``: every stored field but ``id`` (the
database assigns it during the INSERT) and the chain's own columns. The key never reaches
the database, so whoever can write to it can no longer edit an event (any field, or its
MAC) between the INSERT and the sealing without that showing: there is no unsealed window.

Why a MAC at write time rather than chaining on insert: chaining needs the previous hash,
i.e. one lock on the chain head held by every writer until it commits — every verification
in the bank would queue on it. A MAC needs no shared state and no extra round trip: it costs
each writer one JSON encoding and one HMAC (about 30 microseconds of CPU on a loaded 2-core
test machine, most of it the encoding), and the sealer as much again to check it.

The hash of the event at position ``seq``::

    hash = SHA-256( bytes.fromhex(prev_hash) || canonical_encoding(seq, event) )   (hex, lowercase)

``prev_hash`` of ``seq`` 1 is ``GENESIS_HASH`` (32 zero bytes). ``canonical_encoding`` is the
UTF-8 (in fact pure ASCII) bytes of one JSON object (RFC 8259) holding ``"v": 1``, ``"seq"``,
``"id"`` and every stored field of the event (``HASHED_FIELDS``), written with keys sorted,
no whitespace (separators ``,`` and ``:``), every non-ASCII character escaped as ``\\uxxxx``
(lowercase hex, UTF-16 surrogate pairs beyond the BMP), integers as decimal numbers, a
missing value as ``null`` and ``occurred_at`` in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
(always six digits of microseconds). This is exactly ``json.dumps(doc, sort_keys=True,
separators=(",", ":"), ensure_ascii=True)``. An event with a MAC is encoded with ``"v": 2``
and its three MAC columns as well, so that once sealed its MAC can be neither removed nor
replaced without breaking its hash. For example the event id 7 (written before MACs) at seq
3::

    {"action":"token:suspended","actor":"staff:yamada","channel":"console",
     "contract_id":"1000000001","id":7,"occurred_at":"2026-04-01T09:00:00.000000Z",
     "outcome":"success","reason":"\\u7d1b\\u5931\\u5c4a","seq":3,"serial":"123456789012","v":1}

(one line, no spaces); after ``prev_hash = GENESIS_HASH`` its hash is
``2a005d5f36f7a34e24a4e44bc1960548d7378e013b645b07941142bba6008df0``.

Events written before MACs (migration 0010) have none. The chain is therefore a prefix of
such events followed by events with MACs, and the sealer keeps it so: a MAC-less event is
sealed only while no event with a MAC has been sealed or met before it in id order
(``audit_seal.sealable``). Any later MAC-less event is named as not written by kinko (raw
SQL, or a server of an older version still running after the upgrade).
``ChainReport.legacy`` counts the sealed MAC-less events.

Sealing and verifying are described in ``audit_seal`` and ``audit_verify``.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from kinko.store.rows import AuditEventRow

GENESIS_HASH = "0" * 64
#: ``v`` of the chain encoding of an event written before MACs (no MAC columns).
ENCODING_VERSION = 1
#: ``v`` of the chain encoding of an event that carries a MAC (the MAC columns included).
MAC_ENCODING_VERSION = 2
#: ``v`` of the document an event's MAC is computed over.
MAC_VERSION = 1

#: The stored fields every event's hash covers, besides its ``seq``.
HASHED_FIELDS = (
    "id", "occurred_at", "action", "outcome", "actor", "channel", "contract_id", "serial",
    "reason",
)
#: The writer's MAC of the event; the hash of an event that has one covers these too. A test
#: checks that ``HASHED_FIELDS`` and these are every column of ``audit_events`` except the
#: chain's own ``seq``, ``prev_hash`` and ``hash``.
MAC_COLUMNS = ("mac_key_id", "mac_nonce", "mac")
#: The fields the MAC covers besides its nonce: all of ``HASHED_FIELDS`` but ``id``, which the
#: database assigns during the INSERT and so cannot be known when the MAC is made.
MAC_FIELDS = tuple(name for name in HASHED_FIELDS if name != "id")
MAC_NONCE_BYTES = 16

_HEX_HASH = re.compile(r"[0-9a-f]{64}")
#: Every stored column of an event, as the sealer, the verifier and the search read it.
EVENT_COLUMNS = (
    AuditEventRow.id, AuditEventRow.occurred_at, AuditEventRow.action, AuditEventRow.outcome,
    AuditEventRow.actor, AuditEventRow.channel, AuditEventRow.contract_id,
    AuditEventRow.serial, AuditEventRow.reason,
    AuditEventRow.seq, AuditEventRow.prev_hash, AuditEventRow.hash,
    AuditEventRow.mac_key_id, AuditEventRow.mac_nonce, AuditEventRow.mac,
)
_HEX_MAC = _HEX_HASH
_HEX_NONCE = re.compile(r"[0-9a-f]{32}")


class MacKeys(Protocol):
    """The keys of the events' MACs: ``kinko.store.seedbox.SeedBox`` (which derives them from
    the seed keyring). The key bytes stay inside; only key ids and tags come out."""

    def audit_mac(self, message: bytes) -> tuple[str, bytes]:
        """(key id, HMAC-SHA256 tag) of ``message`` under the current key."""
        ...

    def check_audit_mac(self, key_id: str, message: bytes, tag: bytes) -> bool | None:
        """Whether ``tag`` is right for ``message`` under ``key_id``; None for a key not held."""
        ...

    def audit_key_pruned(self, key_id: str) -> bool:
        """Whether ``key_id`` was held once and pruned (``kinko keys prune``)."""
        ...


# --- the encodings, the MAC and the hash ----------------------------------------------------


def canonical_encoding(seq: int, event: Mapping[Any, Any]) -> bytes:
    """The bytes hashed for the event at chain position ``seq`` (see the module docstring).

    ``event`` maps every name of ``HASHED_FIELDS`` to the stored value (a row's mapping), and
    those of ``MAC_COLUMNS`` too if it has a MAC: then the encoding is version 2 and covers
    them, so that a sealed event's MAC can be neither removed nor replaced unnoticed.
    """
    with_mac = any(event.get(name) is not None for name in MAC_COLUMNS)
    document: dict[str, object] = {
        "v": MAC_ENCODING_VERSION if with_mac else ENCODING_VERSION, "seq": seq}
    for name in HASHED_FIELDS + (MAC_COLUMNS if with_mac else ()):
        document[name] = _json_value(event[name])
    return _json_bytes(document)


def mac_encoding(nonce: str, event: Mapping[Any, Any]) -> bytes:
    """The bytes an event's MAC is computed over: ``"v": 1``, ``"mac_nonce"`` and every
    field of ``MAC_FIELDS``, encoded like the chain's documents (see the module docstring)."""
    document: dict[str, object] = {"v": MAC_VERSION, "mac_nonce": nonce}
    for name in MAC_FIELDS:
        document[name] = _json_value(event[name])
    return _json_bytes(document)


def mac_values(keys: MacKeys, event: Mapping[str, Any]) -> dict[str, str]:
    """The MAC columns for a new event whose stored fields (``MAC_FIELDS``) are ``event``:
    a fresh random nonce, the current key's id and the HMAC. The writer binds them in the
    same INSERT as the event, so no row of an event exists without its MAC."""
    nonce = secrets.token_hex(MAC_NONCE_BYTES)
    key_id, tag = keys.audit_mac(mac_encoding(nonce, event))
    return {"mac_key_id": key_id, "mac_nonce": nonce, "mac": tag.hex()}


class MacCheck(enum.Enum):
    """What an event's MAC says about it."""

    VALID = "valid"
    #: The MAC does not match the stored fields: edited, or forged without the key.
    INVALID = "invalid"
    #: The key the MAC names was pruned from the keyring: the MAC can no longer be checked.
    PRUNED_KEY = "pruned key"
    #: The key the MAC names was never in the keyring: forged, or a key file from elsewhere.
    UNKNOWN_KEY = "unknown key"
    #: No MAC at all: written before MACs existed, or inserted by someone without the key.
    MISSING = "missing"


def check_mac(keys: MacKeys, event: Mapping[Any, Any]) -> MacCheck:
    """Check the MAC columns of a stored event (a row's mapping) against its fields."""
    key_id, nonce, mac = (event.get(name) for name in MAC_COLUMNS)
    if key_id is None and nonce is None and mac is None:
        return MacCheck.MISSING
    if not (isinstance(key_id, str) and isinstance(nonce, str) and isinstance(mac, str)
            and _HEX_NONCE.fullmatch(nonce) and _HEX_MAC.fullmatch(mac)):
        return MacCheck.INVALID
    try:
        message = mac_encoding(nonce, event)
    except (TypeError, ValueError):
        return MacCheck.INVALID
    valid = keys.check_audit_mac(key_id, message, bytes.fromhex(mac))
    if valid is None:
        return MacCheck.PRUNED_KEY if keys.audit_key_pruned(key_id) else MacCheck.UNKNOWN_KEY
    return MacCheck.VALID if valid else MacCheck.INVALID


def _json_bytes(document: Mapping[str, object]) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def event_hash(prev_hash: str, seq: int, event: Mapping[Any, Any]) -> str:
    """SHA-256 of the previous hash's 32 bytes and the canonical encoding, in lowercase hex.

    Raises ``ValueError`` if ``prev_hash`` is not 64 lowercase hex digits.
    """
    if not isinstance(prev_hash, str) or not _HEX_HASH.fullmatch(prev_hash):
        raise ValueError("a chain hash is 64 lowercase hex digits")
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_encoding(seq, event)).hexdigest()


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("audit times are aware UTC datetimes")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"no canonical encoding for {type(value).__name__}")
