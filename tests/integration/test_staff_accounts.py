"""Adding a staff member never leaves a token behind that a customer could register."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kinko.domain.errors import Conflict
from kinko.domain.lifecycle import TokenState
from kinko.domain.model import StaffRole, Token, TokenOrigin
from kinko.domain.secrets import Password
from kinko.services import staff_accounts
from kinko.services.issuance import IssuedToken, issue_token
from tests.support import Harness

PASSWORD = Password("console-pass-1")


def staff_origin_tokens(h: Harness) -> list[Token]:
    """Unbound tokens made for staff (every unbound token expires within ten years)."""
    with h.ctx.uow() as uow:
        return [t for t in uow.tokens.unbound_expired(h.clock() + timedelta(days=3650))
                if t.origin is TokenOrigin.STAFF]


def add(h: Harness, name: str = "suzuki") -> staff_accounts.NewStaff:
    return staff_accounts.add_staff(h.ctx, name=name, display_name=name,
                                    role=StaffRole.OPERATOR, password=PASSWORD)


def test_a_taken_staff_id_is_refused_before_any_token_is_made(harness: Harness) -> None:
    h = harness
    add(h)
    with pytest.raises(Conflict):
        add(h)
    assert staff_origin_tokens(h) == []


def test_a_staff_id_taken_meanwhile_revokes_the_token_made_for_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness
    made: list[IssuedToken] = []

    def issue_while_someone_else_adds_the_name(*args: object, **kwargs: object) -> IssuedToken:
        issued = issue_token(*args, **kwargs)  # type: ignore[arg-type]
        made.append(issued)
        monkeypatch.setattr(staff_accounts, "issue_token", issue_token)
        add(h)  # the other request, between this one's check and its insert
        return issued

    monkeypatch.setattr(staff_accounts, "issue_token", issue_while_someone_else_adds_the_name)
    with pytest.raises(Conflict):
        add(h)
    with h.ctx.uow() as uow:
        orphan = uow.tokens.get(made[0].token.id)
    assert orphan is not None and orphan.state is TokenState.REVOKED
    assert staff_origin_tokens(h) == []
