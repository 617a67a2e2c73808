"""The one-statement verification path: as strict as the full check, with fewer round trips.

A token this process has checked before is spent by one conditional statement that also
writes the audit event; anything that changed since (state, seed, drift) sends the code
down the full path, which decides exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, update

from kinko.domain.errors import ReplayedCode, TokenSuspended, WrongCode
from kinko.domain.events import Action, Actor, AuditEvent, Channel, Outcome
from kinko.domain.lifecycle import TokenState
from kinko.domain.secrets import Code
from kinko.services.issuance import IssuedToken
from kinko.services.verification import verify_active, verify_code
from kinko.store.repositories import SqlUnitOfWorkFactory, TokenCache
from kinko.store.rows import TokenRow
from tests.support import Harness

ACTOR = Actor.customer("1000000001", Channel.API)


@contextmanager
def statements(harness: Harness) -> Iterator[list[str]]:
    """The SQL the engine sends meanwhile (not the pool's liveness pings)."""
    seen: list[str] = []

    def record(conn: object, cursor: object, sql: str, *args: object) -> None:
        seen.append(" ".join(sql.split()))

    engine = harness.kinko.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def checks(harness: Harness, serial: str) -> list[AuditEvent]:
    with harness.ctx.uow() as uow:
        return [e for e in uow.audit.recent(limit=100, serial=serial)
                if e.action is Action.TOKEN_CODE_CHECKED]


def enrolled(harness: Harness) -> tuple[int, Code, IssuedToken]:
    customer = harness.customer()
    issued = harness.enroll(customer)  # its codes were checked: this process knows it now
    return issued.token.id, harness.code(issued), issued


def verify(harness: Harness, token_id: int, code: Code) -> None:
    verify_code(harness.ctx, token_id, code, actor=ACTOR, contract_id="1000000001")


def test_a_known_token_is_spent_by_one_statement_that_also_writes_the_event(
    harness: Harness,
) -> None:
    token_id, code, issued = enrolled(harness)
    before = len(checks(harness, issued.token.serial))

    with statements(harness) as sql:
        verify(harness, token_id, code)

    token_reads = [s for s in sql if s.startswith("SELECT") and "FROM tokens" in s]
    spends = [s for s in sql if "UPDATE tokens" in s]
    assert token_reads == []
    assert len(spends) == 1
    if harness.kinko.engine.dialect.name == "postgresql":
        # The spend and its audit event are one statement, committed by itself.
        assert [s for s in sql if s not in ("BEGIN", "COMMIT")] == spends
        assert "INSERT INTO audit_events" in spends[0]
    events = checks(harness, issued.token.serial)
    assert len(events) == before + 1
    assert (events[0].outcome, events[0].actor, events[0].channel) == (
        Outcome.SUCCESS, ACTOR.name, Channel.API)


def test_the_same_code_twice_is_refused_as_a_replay_and_audited(harness: Harness) -> None:
    token_id, code, issued = enrolled(harness)
    verify(harness, token_id, code)

    with pytest.raises(ReplayedCode):
        verify(harness, token_id, code)

    latest = checks(harness, issued.token.serial)[0]
    assert (latest.outcome, latest.reason) == (Outcome.FAILURE, "replayed_code")


def test_a_token_suspended_since_it_was_remembered_refuses_the_code(harness: Harness) -> None:
    token_id, code, _ = enrolled(harness)
    with harness.ctx.uow() as uow:  # as staff would, from another process
        assert uow.tokens.change_state(token_id, from_states={TokenState.ACTIVE},
                                       to_state=TokenState.SUSPENDED, now=harness.clock.now)
        uow.commit()

    with pytest.raises(TokenSuspended):
        verify(harness, token_id, code)

    with harness.ctx.uow() as uow:
        token = uow.tokens.get(token_id)
    assert token is not None and token.state is TokenState.SUSPENDED


def test_a_drift_changed_elsewhere_is_judged_by_the_stored_drift(harness: Harness) -> None:
    token_id, _, issued = enrolled(harness)
    with harness.ctx.uow() as uow:  # staff resync elsewhere: the token is 10 steps ahead
        token = uow.tokens.get(token_id)
        assert token is not None and token.last_step is not None
        assert uow.tokens.set_sync(token_id, last_step=token.last_step + 10, drift=10,
                                   now=harness.clock.now)
        uow.commit()

    # Today's code is now outside the window (and not remembered as valid): refused.
    with pytest.raises(WrongCode):
        verify(harness, token_id, harness.code(issued, steps=0))
    # The code 11 steps ahead is inside the stored window: accepted, and remembered.
    verify(harness, token_id, harness.code(issued, steps=11))
    with statements(harness) as sql:
        verify(harness, token_id, harness.code(issued, steps=12))
    assert not [s for s in sql if s.startswith("SELECT") and "FROM tokens" in s]


def test_a_resealed_seed_is_read_again_not_taken_from_memory(harness: Harness) -> None:
    token_id, code, issued = enrolled(harness)
    seedbox = harness.kinko.seedbox
    resealed = seedbox.seal(issued.token.serial, issued.seed)
    with harness.kinko.engine.begin() as connection:  # what `kinko keys rotate` does
        connection.execute(update(TokenRow).where(TokenRow.id == token_id).values(
            seed_key_id=resealed.key_id, seed_nonce=resealed.nonce,
            seed_ciphertext=resealed.ciphertext))

    with statements(harness) as sql:
        verify(harness, token_id, code)

    assert [s for s in sql if s.startswith("SELECT") and "FROM tokens" in s]


def test_the_one_statement_leaves_the_pool_in_ordinary_transactions(harness: Harness) -> None:
    token_id, code, issued = enrolled(harness)
    verify(harness, token_id, code)  # autocommit for one statement on PostgreSQL

    for _ in range(3):  # whichever pooled connection comes next
        with harness.ctx.uow() as uow:
            uow.audit.record(AuditEvent(
                occurred_at=harness.clock.now, action=Action.TOKEN_CODE_CHECKED,
                outcome=Outcome.FAILURE, actor="system", channel=Channel.SYSTEM,
                serial=issued.token.serial, reason="rolled_back"))
            # no commit: leaving the unit of work must roll the insert back

    assert all(e.reason != "rolled_back"
               for e in checks(harness, issued.token.serial))


# --- verify_active: a customer's active token found and checked in one read ------------

def forget_everything(harness: Harness) -> None:
    """As a server process that has never seen the token (another worker, a restart)."""
    factory = harness.ctx.uow
    assert isinstance(factory, SqlUnitOfWorkFactory)
    factory.token_cache = TokenCache()


@pytest.mark.parametrize("by", ["contract_id", "serial"])
def test_an_unseen_active_token_takes_one_read_and_one_statement(harness: Harness,
                                                                by: str) -> None:
    _, code, issued = enrolled(harness)
    forget_everything(harness)
    wanted = {"contract_id": "1000000001"} if by == "contract_id" else {
        "serial": issued.token.serial}

    with statements(harness) as sql:
        found = verify_active(harness.ctx, code, actor=ACTOR, purpose="login", **wanted)

    assert found is not None
    match, known, contract = found
    assert (known.id, known.serial, contract, match.drift) == (
        issued.token.id, issued.token.serial, "1000000001", 0)
    work = [s for s in sql if s not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")]
    assert len(work) == (2 if harness.kinko.engine.dialect.name == "postgresql" else 3)
    assert work[0].startswith("SELECT") and "JOIN customers" in work[0]
    assert "FOR UPDATE" not in work[0]
    assert "UPDATE tokens" in work[1]
    events = checks(harness, issued.token.serial)
    assert (events[0].outcome, events[0].reason) == (Outcome.SUCCESS, "login")
    # Spent: the same code again is for the full path, which refuses it as a replay.
    assert verify_active(harness.ctx, code, actor=ACTOR, **wanted) is None
    with pytest.raises(ReplayedCode):
        verify(harness, issued.token.id, code)


def test_verify_active_leaves_every_other_case_to_the_full_path(harness: Harness) -> None:
    _, code, issued = enrolled(harness)
    before = len(checks(harness, issued.token.serial))
    wrong = harness.wrong_code(issued)
    assert verify_active(harness.ctx, wrong, actor=ACTOR, contract_id="1000000001") is None
    assert verify_active(harness.ctx, code, actor=ACTOR, contract_id="1999999999") is None
    unbound = harness.issue()  # no customer yet: never found this way
    assert verify_active(harness.ctx, harness.code(unbound), actor=ACTOR,
                         serial=unbound.token.serial) is None
    with harness.ctx.uow() as uow:
        assert uow.tokens.change_state(issued.token.id, from_states={TokenState.ACTIVE},
                                       to_state=TokenState.SUSPENDED, now=harness.clock.now)
        uow.commit()
    assert verify_active(harness.ctx, code, actor=ACTOR, contract_id="1000000001") is None
    with harness.ctx.uow() as uow:
        stored = uow.tokens.get(issued.token.id)
    # Nothing was written: no failure counted, no step spent, no event.
    assert stored is not None and stored.failures == 0
    assert len(checks(harness, issued.token.serial)) == before
