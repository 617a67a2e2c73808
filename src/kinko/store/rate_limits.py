"""Rate limits in SQL: one upsert per hit, counting the current and the previous window."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kinko.domain.throttle import WindowCounts
from kinko.store.rows import RateLimitRow


class SqlRateLimits:
    def __init__(self, session: Session) -> None:
        self._session = session

    def hit(self, key: str, *, window_start: datetime, window: timedelta) -> WindowCounts:
        # One upsert: a new key starts at 1; the same window counts up; the next window starts
        # at 1 and keeps this one's count as the previous; a later window forgets both. Both
        # dialects support ON CONFLICT ... RETURNING.
        dialect = self._session.get_bind().dialect.name
        insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert_(RateLimitRow).values(
            key=key, window_start=window_start, count=1, previous_count=0)
        same_window = RateLimitRow.window_start == statement.excluded.window_start
        next_window = RateLimitRow.window_start == window_start - window
        upsert = statement.on_conflict_do_update(
            index_elements=[RateLimitRow.key],
            set_={
                "count": case((same_window, RateLimitRow.count + 1), else_=1),
                "previous_count": case(
                    (same_window, RateLimitRow.previous_count),
                    (next_window, RateLimitRow.count),
                    else_=0,
                ),
                "window_start": statement.excluded.window_start,
            },
        ).returning(RateLimitRow.count, RateLimitRow.previous_count)
        current, previous = self._session.execute(upsert).one()
        return WindowCounts(window_start, int(current), int(previous))
