"""What a readiness check asks of the database: does it answer, is its schema one this code
can run on, and which key sealed the newest seed. ``kinko.store.db`` answers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class SchemaState(enum.StrEnum):
    """A database's schema compared with this code's migrations."""

    CURRENT = "current"   # at this code's newest migration
    BEHIND = "behind"     # at an older one, or none: run `kinko db upgrade`
    AHEAD = "ahead"       # at a migration this code does not have: a newer release's


@dataclass(frozen=True)
class SchemaStatus:
    """The database's schema revision (None: never migrated), the one this code expects, and
    how the two compare."""

    current: str | None
    expected: str | None
    state: SchemaState

    @property
    def serves(self) -> bool:
        """This code can serve on the schema: it is current, or ahead (a newer release has
        expanded it during a rolling upgrade; migrations only expand in the release that adds
        them, see docs/operations.md)."""
        return self.state is not SchemaState.BEHIND


class DatabaseHealth(Protocol):
    def expected_schema(self) -> str | None:
        """The newest migration of this code, known without asking the database."""
        ...

    def schema(self) -> SchemaStatus:
        """The database's schema against this code's; raises what the database raises when
        it does not answer."""
        ...

    def newest_seed_key_id(self) -> str | None:
        """The id of the key that sealed the newest token's seed (None: no token yet); every
        process must hold it."""
        ...
