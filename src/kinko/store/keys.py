"""Seed key rotation: a new current key in the key file, then every seed re-sealed under it.

Servers keep running: they read the new key file when they next seal or meet a new key id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from kinko.store.rows import TokenRow
from kinko.store.seedbox import Keyring, KeyringError, SealedSeed, SeedBox


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
                            seed_ciphertext=sealed.ciphertext)
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


def prune(engine: Engine, key_file: Path) -> tuple[str, ...]:
    """Drop from the key file every old key that no seed uses any more."""
    keyring = Keyring.load(key_file)
    used = key_usage(engine)
    unused = tuple(k for k in keyring.keys if k != keyring.current_id and used.get(k, 0) == 0)
    if unused:
        keyring.without_keys(unused).save(key_file)
    return unused


__all__ = ["KeyringError", "RotationReport", "key_usage", "prune", "reseal_all", "rotate"]
