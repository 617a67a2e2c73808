"""The sliding-window rate limit: when an attempt is within the limit, and how long a refused
caller is told to wait (kinko.domain.throttle)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinko.domain.errors import InvalidInput
from kinko.domain.throttle import RateLimit, WindowCounts, retry_after

LIMIT = RateLimit(10, timedelta(minutes=10))
START = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


class Counter:
    """What the store does (``SqlRateLimits.hit``), in memory: the reference model."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.window_start: datetime | None = None
        self.current = self.previous = 0

    def hit(self, now: datetime) -> WindowCounts:
        start = self.limit.window_start(now)
        if start != self.window_start:
            same_or_next = self.window_start == start - self.limit.window
            self.previous = self.current if same_or_next else 0
            self.current = 0
            self.window_start = start
        self.current += 1
        return WindowCounts(start, self.current, self.previous)


def test_windows_start_on_whole_multiples_of_their_length() -> None:
    assert LIMIT.window_start(START + timedelta(minutes=13, seconds=5)) == START + timedelta(
        minutes=10)


def test_attempts_up_to_the_limit_pass_and_the_next_is_told_to_wait() -> None:
    counter = Counter(LIMIT)
    assert [retry_after(LIMIT, counter.hit(START), START) for _ in range(10)] == [None] * 10
    wait = retry_after(LIMIT, counter.hit(START), START)
    assert wait is not None and wait > 0


def test_a_second_burst_right_after_a_window_boundary_is_refused() -> None:
    # A fixed window would let ten more through at 09:10:00; the sliding window does not.
    counter = Counter(LIMIT)
    for _ in range(10):
        counter.hit(START + timedelta(minutes=9, seconds=59))
    boundary = START + timedelta(minutes=10)
    assert retry_after(LIMIT, counter.hit(boundary), boundary) is not None


def test_the_previous_window_slides_out_gradually() -> None:
    counter = Counter(LIMIT)
    for _ in range(10):
        counter.hit(START)
    # Halfway through the next window half of the previous one still counts: 5 + 5 = 10.
    halfway = START + timedelta(minutes=15)
    assert [retry_after(LIMIT, counter.hit(halfway), halfway) for _ in range(5)] == [None] * 5
    assert retry_after(LIMIT, counter.hit(halfway), halfway) is not None


@pytest.mark.parametrize(("attempts", "window"), [
    (0, timedelta(minutes=1)), (1, timedelta(0)), (1, timedelta(seconds=1.5)),
])
def test_a_limit_needs_an_attempt_and_a_whole_number_of_seconds(
    attempts: int, window: timedelta
) -> None:
    with pytest.raises(InvalidInput):
        RateLimit(attempts, window)


@given(
    attempts=st.integers(1, 20),
    window=st.sampled_from([1, 10, 60, 300, 600]),
    offsets=st.lists(st.floats(0, 3000, allow_nan=False), min_size=1, max_size=60),
)
def test_waiting_as_told_is_enough_and_never_more_than_needed(
    attempts: int, window: int, offsets: list[float]
) -> None:
    limit = RateLimit(attempts, timedelta(seconds=window))
    counter = Counter(limit)
    now = START
    for offset in sorted(offsets):
        now = START + timedelta(seconds=offset)
        wait = retry_after(limit, counter.hit(now), now)
    if wait is None:
        return
    assert 1 <= wait <= 2 * window
    # One second less (when that is still later than now) is not yet enough ...
    if wait > 1:
        early = Counter(limit)
        early.__dict__.update(counter.__dict__)
        sooner = now + timedelta(seconds=wait - 1)
        assert retry_after(limit, early.hit(sooner), sooner) is not None
    # ... and the wait named is.
    later = now + timedelta(seconds=wait)
    assert retry_after(limit, counter.hit(later), later) is None
