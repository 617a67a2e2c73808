"""What an operator lists (``kinko staff list``, ``kinko token list``), read through the
services' ports on each backend."""

from __future__ import annotations

from kinko.domain.lifecycle import TokenState
from kinko.domain.model import StaffRole, TokenOrigin
from kinko.domain.secrets import Password
from kinko.services import listings, staff_accounts
from tests.support import Harness


def test_the_token_list_names_each_customers_contract_and_keeps_to_one_origin(
    harness: Harness,
) -> None:
    h = harness
    bound = h.enroll(h.customer("1000000001"))
    spare = h.issue(TokenOrigin.DEMO)
    staff = staff_accounts.add_staff(h.ctx, name="suzuki", display_name="鈴木",
                                     role=StaffRole.OPERATOR,
                                     password=Password("console-pass-1"))

    listed = listings.tokens(h.ctx)

    assert [(t.token.serial, t.contract_id) for t in listed] == [
        (bound.token.serial, "1000000001"),
        (spare.token.serial, None),
        (staff.token.token.serial, None),  # a staff member's token has no contract
    ]
    assert listed[0].token.state is TokenState.ACTIVE
    demo = listings.tokens(h.ctx, origin=TokenOrigin.DEMO)
    assert [t.token.serial for t in demo] == [spare.token.serial]
    assert [t.token.serial for t in listings.tokens(h.ctx, limit=1)] == [bound.token.serial]


def test_the_staff_list_is_in_staff_id_order_and_shows_a_locked_password(
    harness: Harness,
) -> None:
    h = harness
    for name in ("yamada", "abe"):
        staff_accounts.add_staff(h.ctx, name=name, display_name=name,
                                 role=StaffRole.SUPERVISOR, password=Password("console-pass-1"))
    with h.ctx.uow() as uow:
        member = uow.staff.by_name("yamada")
        assert member is not None
        counter = uow.staff.password_counter(member.id)
        assert counter.claim(limit=1)
        assert counter.settle_failure(limit=1, now=h.clock())
        uow.commit()

    members = listings.staff_members(h.ctx)

    assert [(m.name, m.role, m.password.locked) for m in members] == [
        ("abe", StaffRole.SUPERVISOR, False), ("yamada", StaffRole.SUPERVISOR, True)]
