"""API clients: bearer secrets stored as hashes, scopes, rotation, revocation, and refusals
that never say which part was wrong."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kinko.domain.errors import Conflict, InvalidInput
from kinko.domain.events import Action, Channel, Outcome
from kinko.services import api_clients
from kinko.store.rows import ApiClientRow
from tests.api.conftest import Api, problem_code


def refused(api: Api, authorization: str | None) -> tuple[int, dict[str, object]]:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.http.get("/api/v1/customers/1000000001", headers=headers)
    return response.status_code, response.json()


def test_the_secret_is_stored_only_as_its_sha256(api: Api) -> None:
    bearer = api.client("callcenter", ["manage"])
    secret = bearer.split("_", 2)[2]
    with Session(api.h.kinko.engine) as session:
        row = session.execute(
            select(ApiClientRow).where(ApiClientRow.name == "callcenter")).scalar_one()
    assert bearer == f"kk_{row.id}_{secret}" and len(secret) == 43
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(row.__dict__)
    assert row.scopes == "manage"


@pytest.mark.parametrize("authorization", [
    None,
    "",
    "Bearer",
    "Basic a2s6eHg=",
    "Bearer kk_1_short",
    "Bearer kk_x_" + "A" * 43,
    "Bearer kk_1_" + "A" * 42 + "!",
    "Bearer " + "kk_1_" + "A" * 43 + " extra",
])
def test_a_missing_or_garbled_secret_gets_the_same_401(api: Api,
                                                       authorization: str | None) -> None:
    status, body = refused(api, authorization)
    wrong_status, wrong_body = refused(api, f"Bearer kk_1_{'A' * 43}")
    unknown_status, unknown_body = refused(api, f"Bearer kk_999_{'A' * 43}")
    assert status == wrong_status == unknown_status == 401
    assert body == wrong_body == unknown_body
    assert body["code"] == "unauthorized"
    assert "secret" in str(body["detail"]) and "wrong" not in str(body["detail"])


def test_a_401_says_how_to_authenticate_and_is_a_problem(api: Api) -> None:
    response = api.http.post("/api/v1/verify", json={})
    assert response.headers["www-authenticate"] == 'Bearer realm="kinko"'
    assert problem_code(response) == "unauthorized"


def test_authentication_comes_before_reading_the_body(api: Api) -> None:
    """A caller without a secret learns nothing about what the body should be."""
    response = api.http.post("/api/v1/verify", content=b"{not json",
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 401


def test_a_client_without_the_scope_gets_403_with_no_detail(api: Api) -> None:
    auditor = api.client("auditor", ["audit"])
    api.h.customer()
    response = api.get("/customers/1000000001", secret=auditor)
    assert response.status_code == 403
    assert problem_code(response) == "forbidden"
    assert "verify" not in response.text and "scope" not in response.text
    assert api.get("/audit", secret=auditor).status_code == 200


def _past_the_cache(api: Api) -> None:
    """Let the server's memory of checked secrets lapse (KINKO_API_CLIENT_CACHE_SECONDS)."""
    api.h.clock.advance(api.h.kinko.settings.api_client_cache_seconds + 0.001)


def test_a_revoked_client_gets_401(api: Api) -> None:
    bearer = api.client("old-system", ["verify"])
    api.h.customer()
    assert api.get("/customers/1000000001", secret=bearer).status_code == 200
    api_clients.revoke(api.h.ctx, "old-system")
    _past_the_cache(api)
    response = api.get("/customers/1000000001", secret=bearer)
    assert response.status_code == 401 and problem_code(response) == "unauthorized"
    with pytest.raises(Conflict):
        api_clients.rotate(api.h.ctx, "old-system")
    with pytest.raises(Conflict):
        api_clients.add_client(api.h.ctx, "old-system", ["verify"])


def test_rotation_invalidates_the_old_secret(api: Api) -> None:
    old = api.client("ivr", ["verify"])
    api.h.customer()
    new = api_clients.rotate(api.h.ctx, "ivr").bearer.reveal()
    assert new != old and new.split("_")[1] == old.split("_")[1]  # same client id
    assert api.get("/customers/1000000001", secret=old).status_code == 401
    assert api.get("/customers/1000000001", secret=new).status_code == 200


def test_a_checked_secret_is_trusted_for_the_cache_lifetime_only(api: Api) -> None:
    """A revocation made elsewhere (the CLI, another server process) reaches a server that
    has just checked the secret within KINKO_API_CLIENT_CACHE_SECONDS, not later."""
    bearer = api.client("ivr", ["verify"])
    api.h.customer()
    ttl = api.h.kinko.settings.api_client_cache_seconds
    assert ttl > 0
    assert api.get("/customers/1000000001", secret=bearer).status_code == 200
    api_clients.revoke(api.h.ctx, "ivr")
    api.h.clock.advance(ttl / 2)
    assert api.get("/customers/1000000001", secret=bearer).status_code == 200
    api.h.clock.advance(ttl / 2 + 0.001)
    assert api.get("/customers/1000000001", secret=bearer).status_code == 401
    # A scope the client lacks is never answered from memory: refused, and audited.
    assert api.get("/audit", secret=bearer).status_code == 401


def test_refusals_of_a_known_client_are_audited_with_the_reason(api: Api) -> None:
    bearer = api.client("ivr", ["verify"])
    api.h.customer()
    client_id = bearer.split("_")[1]
    api.get("/customers/1000000001", secret=f"kk_{client_id}_{'A' * 43}")
    api.get("/audit", secret=bearer)
    api_clients.revoke(api.h.ctx, "ivr")
    _past_the_cache(api)
    api.get("/customers/1000000001", secret=bearer)
    refusals = [e for e in api.events() if e.action is Action.API_CLIENT_REFUSED]
    assert [(e.actor, e.channel, e.outcome, e.reason) for e in refusals] == [
        ("api:ivr", Channel.API, Outcome.FAILURE, "wrong_secret"),
        ("api:ivr", Channel.API, Outcome.FAILURE, "scope:audit"),
        ("api:ivr", Channel.API, Outcome.FAILURE, "revoked"),
    ]
    assert all(bearer.split("_", 2)[2] not in str(e) for e in api.events())


def test_last_use_is_recorded_at_most_once_a_minute(api: Api) -> None:
    api.h.customer()
    api.get("/customers/1000000001")
    first = _client(api, "ib-core").last_used_at
    assert first == api.h.clock()
    api.h.clock.advance(30)
    api.get("/customers/1000000001")
    assert _client(api, "ib-core").last_used_at == first
    api.h.clock.advance(31)
    api.get("/customers/1000000001")
    assert _client(api, "ib-core").last_used_at == api.h.clock()


def _client(api: Api, name: str) -> api_clients.ApiClient:
    return next(c for c in api_clients.list_clients(api.h.ctx) if c.name == name)


def test_making_rotating_and_revoking_clients_is_audited(api: Api) -> None:
    api.client("callcenter", ["manage", "verify"])
    api_clients.rotate(api.h.ctx, "callcenter")
    api_clients.revoke(api.h.ctx, "callcenter")
    made = [(e.action, e.actor, e.reason) for e in api.events()
            if e.action.value.startswith("api_client:") and "callcenter" in (e.reason or "")]
    assert made == [
        (Action.API_CLIENT_CREATED, "operator", "callcenter:manage verify"),
        (Action.API_CLIENT_ROTATED, "operator", "callcenter"),
        (Action.API_CLIENT_REVOKED, "operator", "callcenter"),
    ]


@pytest.mark.parametrize(("name", "scopes"), [
    ("Bad Name", ["verify"]), ("x", ["verify"]), ("ok-name", []), ("ok-name", ["root"]),
])
def test_clients_need_a_plain_name_and_known_scopes(api: Api, name: str,
                                                    scopes: list[str]) -> None:
    with pytest.raises(InvalidInput):
        api_clients.add_client(api.h.ctx, name, scopes)
