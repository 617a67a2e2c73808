"""The software token's lifecycle as an explicit transition table.

Anything not in the table raises ``InvalidTransition``; ``revoked`` is final.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from kinko.domain.errors import InvalidTransition


class TokenState(enum.StrEnum):
    UNBOUND = "unbound"      # activated by an app (or issued), owned by nobody yet
    ACTIVE = "active"        # bound to one contract and accepted for OTP checks
    LOCKED = "locked"        # too many wrong codes; staff unlock
    SUSPENDED = "suspended"  # bank staff stopped it for now (e.g. lost phone)
    REVOKED = "revoked"      # final: stopped, exchanged out, revoked, expired


class TokenEvent(enum.StrEnum):
    BIND = "bind"                        # 利用開始 or the new token of 交換
    TOO_MANY_FAILURES = "too_many_failures"
    UNLOCK = "unlock"                    # staff
    SUSPEND = "suspend"                  # staff: phone reported lost
    RESUME = "resume"                    # staff: phone found
    STOP = "stop"                        # 利用中止 by the customer
    EXCHANGE_OUT = "exchange_out"        # the old token of 交換
    REVOKE = "revoke"                    # staff: lost for good, app uninstalled
    EXPIRE = "expire"                    # unbound for longer than the binding period


S, E = TokenState, TokenEvent

TRANSITIONS: Mapping[tuple[TokenState, TokenEvent], TokenState] = MappingProxyType({
    (S.UNBOUND, E.BIND): S.ACTIVE,
    # An unbound token guessed at too often is burnt: nobody owns it, so nobody could unlock it.
    (S.UNBOUND, E.TOO_MANY_FAILURES): S.REVOKED,
    (S.UNBOUND, E.EXPIRE): S.REVOKED,
    (S.UNBOUND, E.REVOKE): S.REVOKED,
    (S.ACTIVE, E.TOO_MANY_FAILURES): S.LOCKED,
    (S.ACTIVE, E.SUSPEND): S.SUSPENDED,
    (S.ACTIVE, E.STOP): S.REVOKED,
    (S.ACTIVE, E.EXCHANGE_OUT): S.REVOKED,
    (S.ACTIVE, E.REVOKE): S.REVOKED,
    # A locked token is not suspended: it takes no codes already, and a later resume would
    # make it active without the unlock that staff must decide on.
    (S.LOCKED, E.UNLOCK): S.ACTIVE,
    (S.LOCKED, E.REVOKE): S.REVOKED,
    (S.SUSPENDED, E.RESUME): S.ACTIVE,
    (S.SUSPENDED, E.REVOKE): S.REVOKED,
})

del S, E

#: States in which a token belongs to a contract (at most one such token per contract).
BOUND_STATES: frozenset[TokenState] = frozenset(
    {TokenState.ACTIVE, TokenState.LOCKED, TokenState.SUSPENDED}
)


def transition(state: TokenState, event: TokenEvent) -> TokenState:
    """The state after ``event``, or ``InvalidTransition`` if the table has no such edge."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(
            f"a token in state {state.value!r} cannot take event {event.value!r}"
        ) from None


def sources_of(event: TokenEvent) -> frozenset[TokenState]:
    """Every state from which ``event`` is allowed (used to guard conditional updates)."""
    return frozenset(state for (state, ev) in TRANSITIONS if ev is event)
