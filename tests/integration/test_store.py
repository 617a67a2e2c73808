"""The store itself: migrations, the one-bound-token rule, seeds at rest, key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from kinko.domain.errors import Conflict
from kinko.domain.lifecycle import TokenState
from kinko.services import transactions
from kinko.store import keys
from kinko.store.db import alembic_config, current_revision, head_revision
from kinko.store.keyring import Keyring
from kinko.store.rows import Base, TokenRow
from kinko.store.seedbox import SeedBox, SeedUnavailable
from tests.support import Harness, make_harness


def test_migrations_build_exactly_the_schema_the_models_describe(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert alembic_config(engine).get_main_option("script_location")


def test_the_database_allows_only_one_bound_token_per_contract(harness: Harness) -> None:
    h = harness
    customer = h.customer()
    h.enroll(customer)
    other = h.issue()
    now = h.clock()
    with h.ctx.uow() as uow, pytest.raises(Conflict):
        uow.tokens.change_state(other.token.id, from_states={TokenState.UNBOUND},
                                to_state=TokenState.ACTIVE, now=now, customer_id=customer.id)


def test_seeds_are_stored_encrypted_and_bound_to_their_serial(harness: Harness) -> None:
    h = harness
    issued, other = h.issue(), h.issue()
    seed = issued.seed.reveal()
    with Session(h.kinko.engine) as session:
        row = session.execute(select(TokenRow).where(TokenRow.id == issued.token.id)).scalar_one()
        assert seed not in row.seed_ciphertext
        assert seed.hex() not in row.seed_ciphertext.hex()
        assert row.seed_key_id == h.kinko.seedbox.current_key_id
        # Moving a sealed seed to another serial makes it unusable, not someone else's seed.
        session.execute(update(TokenRow).where(TokenRow.id == other.token.id).values(
            seed_nonce=row.seed_nonce, seed_ciphertext=row.seed_ciphertext))
        session.commit()
    with h.ctx.uow() as uow, pytest.raises(SeedUnavailable):
        uow.tokens.seed(other.token)


def test_key_rotation_while_a_server_keeps_running(clean_engine: Engine, tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    keyring, created = Keyring.load_or_create(key_file)
    assert created
    # The running server: its seed box watches the key file, as `kinko serve` does.
    server = make_harness(clean_engine, seedbox=SeedBox(keyring, key_file=key_file))
    customer = server.customer()
    issued = server.enroll(customer)

    # The operator rotates from another process (here: its own keyring and seed box).
    report = keys.rotate(clean_engine, key_file)
    assert report.resealed == 1
    assert keys.key_usage(clean_engine) == {report.new_key_id: 1}

    # The running server opens the re-sealed seed under a key id it did not know ...
    transactions.authorize(server.ctx, customer.id, purpose="t", code=server.code(issued))
    # ... and seals new seeds under the new key without a restart.
    fresh = server.issue()
    with Session(clean_engine) as session:
        key_id = session.execute(
            select(TokenRow.seed_key_id).where(TokenRow.id == fresh.token.id)).scalar_one()
    assert key_id == report.new_key_id
    # Once pruned, only the new key is left, and the server still verifies.
    assert keys.prune(clean_engine, key_file) == report.old_key_ids
    server.next_step()
    transactions.authorize(server.ctx, customer.id, purpose="t", code=server.code(issued))
