"""Seed key rotation: a new current key in the key file, then every seed re-sealed under it.

Servers keep running: they read the new key file when they next seal or meet a new key id.
The same keys (through HKDF) make the audit events' MACs: new events are MACed under the new
key at once; an old key stays until ``prune``, which keeps any key that unsealed events'
MACs still need (sealed events are covered by the chain, see ``kinko.store.audit_chain``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from kinko.store.audit_seal import seal_all
from kinko.store.keyring import Keyring, KeyringError
from kinko.store.rows import AuditEventRow, TokenRow
from kinko.store.seedbox import SealedSeed, SeedBox


@dataclass(frozen=True)
class RotationReport:
    old_key_ids: tuple[str, ...]
    new_key_id: str
    resealed: int


def rotate(engine: Engine, key_file: Path, *, batch_size: int = 500) -> RotationReport:
    old = Keyring.load(key_file)
    new = old.with_new_key()
    new.save(key_file)
    seedbox = SeedBox(new, key_file=key_file)
    resealed = reseal_all(engine, seedbox, batch_size=batch_size)
    return RotationReport(tuple(sorted(old.keys)), new.current_id, resealed)


def reseal_all(engine: Engine, seedbox: SeedBox, *, batch_size: int = 500) -> int:
    """Re-encrypt every seed not under the current key, one short transaction per batch.

    Each row is updated only if it still holds the ciphertext that was read, so a
    concurrent change is never overwritten.
    """
    resealed = 0
    after_id = 0
    while True:
        with Session(engine) as session, session.begin():
            rows = session.execute(
                select(TokenRow.id, TokenRow.serial, TokenRow.seed_key_id,
                       TokenRow.seed_nonce, TokenRow.seed_ciphertext)
                .where(TokenRow.id > after_id,
                       TokenRow.seed_key_id != seedbox.current_key_id)
                .order_by(TokenRow.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return resealed
            for token_id, serial, key_id, nonce, ciphertext in rows:
                seed = seedbox.open(serial, SealedSeed(key_id, nonce, ciphertext))
                sealed = seedbox.seal(serial, seed)
                result = session.execute(
                    update(TokenRow)
                    .where(TokenRow.id == token_id, TokenRow.seed_key_id == key_id,
                           TokenRow.seed_nonce == nonce)
                    .values(seed_key_id=sealed.key_id, seed_nonce=sealed.nonce,
                            seed_ciphertext=sealed.ciphertext, version=TokenRow.version + 1)
                    .execution_options(synchronize_session=False)
                )
                resealed += getattr(result, "rowcount", 0)
            after_id = rows[-1][0]


def key_usage(engine: Engine) -> dict[str, int]:
    """How many seeds each key id seals."""
    with Session(engine) as session:
        rows = session.execute(
            select(TokenRow.seed_key_id, func.count()).group_by(TokenRow.seed_key_id)
        ).all()
    return {key_id: int(count) for key_id, count in rows}


def audit_key_usage(engine: Engine) -> dict[str, int]:
    """How many *unsealed* audit events each key id has MACed: the sealer needs those keys
    to check them. (Sealed events need no key: the chain covers them.)"""
    with Session(engine) as session:
        rows = session.execute(
            select(AuditEventRow.mac_key_id, func.count())
            .where(AuditEventRow.seq.is_(None), AuditEventRow.mac_key_id.is_not(None))
            .group_by(AuditEventRow.mac_key_id)
        ).all()
    return {str(key_id): int(count) for key_id, count in rows}


def prune(engine: Engine, key_file: Path) -> tuple[str, ...]:
    """Drop from the key file every old key that neither a seed nor an unsealed audit
    event needs any more; the dropped ids, which the key file remembers as pruned.

    It first seals every pending event (with all the keys still in the file), so only the
    events the sealer refuses (see ``audit_seal.seal_pending``) or that arrive meanwhile
    can hold a key back: it is then kept, never dropped under an event that needs it;
    ``audit_key_usage`` says which and how many.
    """
    keyring = Keyring.load(key_file)
    seal_all(engine, SeedBox(keyring, key_file=key_file))
    used = key_usage(engine)
    needed = audit_key_usage(engine)
    unused = tuple(k for k in keyring.keys if k != keyring.current_id
                   and used.get(k, 0) == 0 and needed.get(k, 0) == 0)
    if unused:
        keyring.without_keys(unused).save(key_file)
    return unused


class SeedKeys:
    """The seed keys of one deployment as its operator manages them (``kinko keys``): the
    functions above, bound to its database and key file; the composition root hands it out
    as ``Kinko.seed_keys``, so the CLI needs nothing of the store."""

    def __init__(self, engine: Engine, seedbox: SeedBox, key_file: Path) -> None:
        self._engine = engine
        self._seedbox = seedbox
        self._key_file = key_file

    @property
    def current_key_id(self) -> str:
        """The key new seeds are sealed under (and new audit events MACed with)."""
        return self._seedbox.current_key_id

    def rotate(self) -> RotationReport:
        return rotate(self._engine, self._key_file)

    def prune(self) -> tuple[str, ...]:
        return prune(self._engine, self._key_file)

    def usage(self) -> dict[str, int]:
        return key_usage(self._engine)

    def audit_usage(self) -> dict[str, int]:
        return audit_key_usage(self._engine)


__all__ = ["KeyringError", "RotationReport", "SeedKeys", "audit_key_usage", "key_usage",
           "prune", "reseal_all", "rotate"]
