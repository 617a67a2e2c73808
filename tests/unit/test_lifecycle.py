"""The token lifecycle table: every edge DESIGN.md names, and nothing else."""

from __future__ import annotations

import itertools

import pytest

from kinko.domain.errors import InvalidTransition
from kinko.domain.lifecycle import (
    BOUND_STATES,
    TRANSITIONS,
    TokenEvent,
    TokenState,
    sources_of,
    transition,
)

S, E = TokenState, TokenEvent

EXPECTED = {
    (S.UNBOUND, E.BIND): S.ACTIVE,
    (S.UNBOUND, E.TOO_MANY_FAILURES): S.REVOKED,
    (S.UNBOUND, E.EXPIRE): S.REVOKED,
    (S.UNBOUND, E.REVOKE): S.REVOKED,
    (S.ACTIVE, E.TOO_MANY_FAILURES): S.LOCKED,
    (S.ACTIVE, E.SUSPEND): S.SUSPENDED,
    (S.ACTIVE, E.STOP): S.REVOKED,
    (S.ACTIVE, E.EXCHANGE_OUT): S.REVOKED,
    (S.ACTIVE, E.REVOKE): S.REVOKED,
    (S.LOCKED, E.UNLOCK): S.ACTIVE,
    (S.LOCKED, E.REVOKE): S.REVOKED,
    (S.SUSPENDED, E.RESUME): S.ACTIVE,
    (S.SUSPENDED, E.REVOKE): S.REVOKED,
}


@pytest.mark.parametrize(("edge", "target"), EXPECTED.items())
def test_each_allowed_transition_leads_where_the_design_says(
    edge: tuple[TokenState, TokenEvent], target: TokenState
) -> None:
    assert transition(*edge) is target


ILLEGAL = [pair for pair in itertools.product(TokenState, TokenEvent) if pair not in EXPECTED]


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_every_other_transition_is_refused(state: TokenState, event: TokenEvent) -> None:
    with pytest.raises(InvalidTransition):
        transition(state, event)


def test_the_table_has_no_edges_beyond_the_expected_ones() -> None:
    assert dict(TRANSITIONS) == EXPECTED


def test_revoked_is_final() -> None:
    assert all(state is not S.REVOKED for state, _ in TRANSITIONS)


def test_only_an_unbound_token_can_be_bound() -> None:
    assert sources_of(E.BIND) == {S.UNBOUND}
    assert BOUND_STATES == {S.ACTIVE, S.LOCKED, S.SUSPENDED}
