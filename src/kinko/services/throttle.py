"""Admitting attempts under rate limits that every server process shares (the counters live
in the database): token activations per address, logins per address and per contract.

Every attempt counts when it arrives, malformed or not, before any slow work is done for it.
"""

from __future__ import annotations

from kinko.domain.errors import RateLimited
from kinko.domain.throttle import RateLimit, retry_after
from kinko.services.context import Context

#: Longest key the store keeps (``rate_limits.key``).
MAX_KEY = 128


def admit(ctx: Context, *checks: tuple[str, RateLimit]) -> None:
    """Count one attempt against each ``(key, limit)`` in one transaction, then raise
    ``RateLimited`` (with the longest wait) if any limit is exceeded."""
    now = ctx.clock()
    with ctx.uow() as uow:
        counts = [
            (limit, uow.rate_limits.hit(key[:MAX_KEY], window_start=limit.window_start(now),
                                        window=limit.window))
            for key, limit in checks
        ]
        uow.commit()
    waits = [wait for limit, count in counts
             if (wait := retry_after(limit, count, now)) is not None]
    if waits:
        raise RateLimited(retry_after=max(waits))
