"""GET /api/v1/audit: the audit trail with filters, newest first, paged by before_id."""

from __future__ import annotations

import pytest

from kinko.domain.events import Action
from kinko.services import audit
from tests.api.conftest import Api, problem_code

CONTRACT = "1000000001"


@pytest.fixture
def auditor(api: Api) -> str:
    return api.client("audit-system", ["audit"])


def test_filters_by_contract_actor_and_action_family(api: Api, auditor: str) -> None:
    api.h.enroll(api.h.customer(CONTRACT))
    api.h.customer("1000000002")
    page = api.get("/audit", secret=auditor, contract_id=CONTRACT, action="token:").json()
    actions = [e["action"] for e in page["events"]]
    assert actions == ["token:bound", "token:code:checked"]
    assert {e["contract_id"] for e in page["events"]} == {CONTRACT}
    by_actor = api.get("/audit", secret=auditor, actor=f"customer:{CONTRACT}",
                       action="token:bound").json()["events"]
    assert [(e["actor"], e["channel"], e["outcome"]) for e in by_actor] == [
        (f"customer:{CONTRACT}", "web", "success")]


def test_pages_follow_next_before_id_to_the_end(api: Api, auditor: str) -> None:
    for n in range(7):
        api.h.customer(f"100000000{n}")
    seen: list[int] = []
    before: int | None = None
    while True:
        params = {"action": "customer:created", "limit": 3}
        if before is not None:
            params["before_id"] = before
        page = api.get("/audit", secret=auditor, **params).json()
        seen.extend(e["id"] for e in page["events"])
        before = page["next_before_id"]
        if before is None:
            break
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)


def test_since_until_and_the_chain_fields(api: Api, auditor: str) -> None:
    api.h.customer(CONTRACT)
    api.h.clock.advance(3600)
    api.h.customer("1000000002")
    audit.seal_all(api.h.kinko.audit_trail)
    later = api.get("/audit", secret=auditor, action="customer:created",
                    since="2026-04-01T18:30:00+09:00").json()["events"]
    assert [e["contract_id"] for e in later] == ["1000000002"]
    earlier = api.get("/audit", secret=auditor, action="customer:created",
                      until="2026-04-01T09:30:00Z").json()["events"]
    assert [e["contract_id"] for e in earlier] == [CONTRACT]
    assert earlier[0]["seq"] >= 1 and len(earlier[0]["hash"]) == 64


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 501}, {"before_id": 0}, {"before_id": 2**63},
    {"since": "2026-04-01T09:00:00"},            # no time zone: ambiguous in a bank
    {"action": "DROP TABLE"}, {"actor": "x\x00y"}, {"contract_id": "abc"},
    {"serial": "123456789012"},                 # wrong check digit
])
def test_bad_filters_are_422(api: Api, auditor: str, params: dict[str, object]) -> None:
    response = api.get("/audit", secret=auditor, **params)
    assert response.status_code == 422, response.text
    assert problem_code(response) in ("invalid_request", "invalid_input")


def test_a_valid_time_beyond_the_years_utc_can_hold_is_clamped_not_refused(
        api: Api, auditor: str) -> None:
    # Valid date-times by the document (RFC 3339) whose UTC falls before year 1 or after
    # 9999: as early, or as late, as a filter can be.
    everything = api.get("/audit", secret=auditor, since="0001-01-01T00:00:00+01:00")
    assert everything.status_code == 200, everything.text
    assert everything.json()["events"]
    nothing = api.get("/audit", secret=auditor, since="9999-12-31T23:59:59-01:00")
    assert nothing.status_code == 200 and nothing.json()["events"] == []
    before_all = api.get("/audit", secret=auditor, until="0001-01-01T00:00:00+01:00")
    assert before_all.status_code == 200 and before_all.json()["events"] == []


def test_reading_the_trail_needs_the_audit_scope_and_is_itself_audited(api: Api,
                                                                       auditor: str) -> None:
    assert api.get("/audit").status_code == 200  # ib-core has every scope
    verifier = api.client("ivr", ["verify", "manage"])
    assert api.get("/audit", secret=verifier).status_code == 403
    api.get("/audit", secret=auditor, contract_id=CONTRACT)
    reads = [(e.actor, e.contract_id) for e in api.events() if e.action is Action.API_READ]
    assert reads == [("api:ib-core", None), ("api:audit-system", CONTRACT)]
