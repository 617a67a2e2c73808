"""What an operator lists from the command line: staff members and tokens.

Reads only, each in one unit of work that is never committed; no audit event (nothing
changes, and no secret is read).
"""

from __future__ import annotations

from collections.abc import Sequence

from kinko.domain.model import StaffMember, TokenOrigin
from kinko.services.context import Context
from kinko.services.ports import ListedToken


def staff_members(ctx: Context) -> Sequence[StaffMember]:
    """Every staff member, by staff ID."""
    with ctx.uow() as uow:
        return uow.staff.listing()


def tokens(ctx: Context, *, origin: TokenOrigin | None = None,
           limit: int = 100) -> Sequence[ListedToken]:
    """The first ``limit`` tokens in the order they were made (only those of ``origin``, if
    given), each with its customer's contract ID."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    with ctx.uow() as uow:
        return uow.tokens.listing(origin=origin, limit=limit)
