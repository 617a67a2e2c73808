"""The failure count and lock of one password (a customer's login or confirmation password, a
staff member's console password), as the three conditional statements of
``services.credentials.weigh``: claim an attempt, then settle it as a failure or a success.

Each is one UPDATE whose WHERE clause holds the rule's condition, so concurrent attempts on
any number of server processes can neither skip the count nor lift a lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import InstrumentedAttribute, Session


class SqlPasswordCounter:
    def __init__(self, session: Session, row: type[Any], row_id: int, *,
                 failures: InstrumentedAttribute[int],
                 locked_at: InstrumentedAttribute[datetime | None]) -> None:
        self._session = session
        self._row = row
        self._row_id = row_id
        self._failures = failures
        self._locked_at = locked_at

    def claim(self, *, limit: int) -> bool:
        return self._update(self._failures < limit, {self._failures: self._failures + 1})

    def settle_failure(self, *, limit: int, now: datetime) -> bool:
        return self._update(self._failures >= limit, {self._locked_at: now})

    def settle_success(self) -> bool:
        return self._update(None, {self._failures: 0})

    def _update(self, condition: ColumnElement[bool] | None, values: dict[Any, Any]) -> bool:
        """Apply ``values`` to this password's row if it is unlocked (and ``condition``)."""
        wanted = [self._row.id == self._row_id, self._locked_at.is_(None)]
        if condition is not None:
            wanted.append(condition)
        result = self._session.execute(
            update(self._row).where(*wanted).values(values)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0)) == 1
