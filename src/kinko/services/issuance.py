"""Issuing new unbound tokens: a fresh serial, a seed, sealed in the store.

The CLI and demo data issue with a random 160-bit seed; app activation passes its derived seed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from kinko.domain.errors import Conflict
from kinko.domain.events import OPERATOR, SYSTEM, Action, Actor
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import Token, TokenOrigin
from kinko.domain.otp import TotpParameters
from kinko.domain.secrets import Seed
from kinko.domain.serials import new_serial
from kinko.services.context import Context
from kinko.services.ports import NewToken
from kinko.services.verification import audit, expire_if_due

SEED_BYTES = 20  # 160 bits, RFC 4226's recommended length for HMAC-SHA1
_SERIAL_ATTEMPTS = 20


@dataclass(frozen=True)
class IssuedToken:
    token: Token
    seed: Seed


def issue_token(
    ctx: Context,
    origin: TokenOrigin,
    *,
    seed: Seed | Callable[[str], Seed] | None = None,
    params: TotpParameters | None = None,
    actor: Actor = OPERATOR,
    serial_source: Callable[[], str] = new_serial,
) -> IssuedToken:
    """A new ``unbound`` token that expires if not registered within the binding period.

    ``seed`` is random by default; app activation passes a function of the serial, since
    the serial is part of the key derivation.
    """
    now = ctx.clock()
    for _ in range(_SERIAL_ATTEMPTS):
        serial = serial_source()
        if callable(seed):
            token_seed = seed(serial)
        else:
            token_seed = seed or Seed(secrets.token_bytes(SEED_BYTES))
        new = NewToken(
            serial=serial,
            params=params or ctx.policy.totp,
            origin=origin,
            created_at=now,
            expires_at=now + ctx.policy.unbound_ttl,
        )
        try:
            with ctx.uow() as uow:
                # A serial is never reused: revoked tokens keep theirs for ever.
                if uow.tokens.serial_exists(serial):
                    continue
                token = uow.tokens.add(new, token_seed)
                audit(uow, now, Action.TOKEN_ISSUED, actor, serial=serial, reason=origin.value)
                uow.commit()
        except Conflict:
            continue  # another process took the serial between our check and insert
        return IssuedToken(token, token_seed)
    raise Conflict("could not find an unused serial number")


def expire_unbound(ctx: Context) -> int:
    """Revoke every unbound token past its binding period; returns how many."""
    now = ctx.clock()
    with ctx.uow() as uow:
        due = uow.tokens.unbound_expired(now)
        expired = sum(
            1 for token in due
            if token.state is TokenState.UNBOUND and expire_if_due(uow, token, now, SYSTEM)
        )
        uow.commit()
    return expired
