"""Rate limits over a sliding window: how many attempts a key (an address, a contract) may
make, and how long a refused caller should wait.

The store keeps two fixed windows per key, the current one and the one before it; the count
over the last ``window`` is estimated by weighting the previous window by the part of it that
still lies inside the sliding window (the "sliding window counter"). Unlike a fixed window,
this never lets twice the limit through across a window boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kinko.domain.errors import InvalidInput


@dataclass(frozen=True)
class RateLimit:
    """At most ``attempts`` per ``window`` (sliding)."""

    attempts: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidInput("a rate limit allows at least 1 attempt")
        if self.window < timedelta(seconds=1) or self.window % timedelta(seconds=1):
            raise InvalidInput("a rate limit's window is a whole number of seconds, at least 1")

    @property
    def seconds(self) -> int:
        return int(self.window.total_seconds())

    def window_start(self, now: datetime) -> datetime:
        """Start of the fixed window that holds ``now``."""
        epoch = int(now.timestamp())
        return datetime.fromtimestamp(epoch - epoch % self.seconds, UTC)


@dataclass(frozen=True)
class WindowCounts:
    """Attempts counted in the fixed window starting at ``window_start`` and in the one before."""

    window_start: datetime
    current: int
    previous: int


def retry_after(limit: RateLimit, counts: WindowCounts, now: datetime) -> int | None:
    """``None`` if the attempt that ``counts`` includes is within ``limit``; otherwise the
    whole seconds after which an attempt would be within it again (at least 1)."""
    if _estimate(limit, counts, now) <= limit.attempts:
        return None
    seconds = limit.seconds
    elapsed = (now - counts.window_start).total_seconds()
    # The next attempt adds one to this window's count. While that stays within the limit,
    # it is enough to wait for enough of the previous window to slide out ...
    room = limit.attempts - counts.current - 1
    if room >= 0 and counts.previous:
        fraction = 1 - room / counts.previous
        return max(1, math.ceil(fraction * seconds - elapsed))
    # ... otherwise wait into the next window, where this window's count slides out.
    fraction = max(0.0, 1 - (limit.attempts - 1) / counts.current)
    return max(1, math.ceil(seconds - elapsed + fraction * seconds))


def _estimate(limit: RateLimit, counts: WindowCounts, now: datetime) -> float:
    elapsed = (now - counts.window_start).total_seconds() / limit.seconds
    return counts.previous * max(0.0, 1 - elapsed) + counts.current
