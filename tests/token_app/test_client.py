"""Activation against a mock server that runs the real key agreement: the app and the server
derive the same seed, only a public key travels, and every odd answer is refused clearly."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import httpx
import pytest

from kinko.domain.activation import b64url
from kinko.domain.otp import Algorithm, TotpParameters
from kinko_token.client import activate, normalize_server_url
from kinko_token.errors import (
    ActivationError,
    InvalidServerUrl,
    MalformedAnswer,
    RateLimited,
    ServerRefused,
    ServerUnreachable,
)

from .conftest import DROP, T0, FakeServer

SERVER = "http://127.0.0.1:8000"


def _problem(status: int, detail: str, code: str, **headers: str) -> httpx.MockTransport:
    body = {"type": "about:blank", "title": "Problem", "status": status, "detail": detail,
            "code": code}
    return httpx.MockTransport(
        lambda request: httpx.Response(
            status, content=json.dumps(body).encode(),
            headers={"content-type": "application/problem+json", **headers},
        )
    )


def _one_line(error: pytest.ExceptionInfo[ActivationError]) -> str:
    message = str(error.value)
    assert "\n" not in message and "\x1b" not in message
    return message


def test_the_app_derives_the_same_seed_as_the_server(fake_server: FakeServer) -> None:
    activated = activate(SERVER, transport=fake_server.transport, clock=lambda: T0)

    info = activated.info
    assert activated.seed == fake_server.seeds[info.serial]
    assert info.server == SERVER
    assert info.parameters == TotpParameters(Algorithm.SHA1, 6, 30)
    assert info.activated_at == datetime.fromtimestamp(T0, UTC)
    assert info.expires_at == datetime(2026, 12, 26, 7, 0, tzinfo=UTC)


def test_only_a_fresh_public_key_travels(fake_server: FakeServer) -> None:
    first = activate(SERVER, transport=fake_server.transport)
    second = activate(SERVER + "/", transport=fake_server.transport)

    keys = []
    for request in fake_server.requests:
        assert request.method == "POST"
        assert str(request.url) == "http://127.0.0.1:8000/api/v1/activations"
        body = json.loads(request.content)
        assert list(body) == ["client_public_key"]
        keys.append(body["client_public_key"])
        for seed in (first.seed, second.seed):
            assert b64url(seed.reveal()).encode() not in request.content
            assert seed.reveal().hex().encode() not in request.content
    assert len(set(keys)) == 2  # a new key pair for every activation
    assert len(base64.urlsafe_b64decode(keys[0] + "=")) == 32
    assert first.seed != second.seed


def test_a_server_under_a_path_prefix_is_reached_there(fake_server: FakeServer) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/otp/api/v1/activations"
        request.url = request.url.copy_with(path="/api/v1/activations")
        return fake_server(request)

    activate("https://bank.example.jp/otp/", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, ServerRefused), (403, ServerRefused), (404, ServerRefused), (500, ServerRefused),
     (503, ServerRefused)],
)
def test_a_problem_response_is_refused_with_the_servers_detail(
    status: int, error_type: type[ActivationError]
) -> None:
    transport = _problem(status, "activations are closed for maintenance", "maintenance")

    with pytest.raises(error_type) as error:
        activate(SERVER, transport=transport)

    message = _one_line(error)
    assert "activations are closed for maintenance" in message
    assert f"HTTP {status}" in message and "maintenance" in message
    assert isinstance(error.value, ServerRefused)
    assert error.value.status == status and error.value.code == "maintenance"


def test_a_429_says_when_to_try_again() -> None:
    transport = _problem(429, "too many activations from this address", "rate_limited",
                         **{"retry-after": "120"})

    with pytest.raises(RateLimited) as error:
        activate(SERVER, transport=transport)

    assert error.value.retry_after == 120
    message = _one_line(error)
    assert "120" in message and "too many activations from this address" in message


def test_a_429_with_an_http_date_counts_from_the_clock() -> None:
    transport = _problem(429, "slow down", "rate_limited",
                         **{"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"})
    then = datetime(2026, 10, 21, 7, 27, 0, tzinfo=UTC).timestamp()

    with pytest.raises(RateLimited) as error:
        activate(SERVER, transport=transport, clock=lambda: then)
    assert error.value.retry_after == 60


def test_an_error_without_a_problem_body_still_reads_well() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(502, text="<html>bad</html>"))

    with pytest.raises(ServerRefused) as error:
        activate(SERVER, transport=transport)
    assert "HTTP 502" in _one_line(error) and "Bad Gateway" in str(error.value)


def test_a_redirect_is_not_followed() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(307, headers={"location": "http://evil.example/x"})
    )
    with pytest.raises(ServerRefused, match="redirected"):
        activate(SERVER, transport=transport)


def test_server_text_cannot_reach_the_terminal_as_escape_sequences() -> None:
    transport = _problem(400, "bad\x1b[2J\x1b]52;c;AAAA\x07\nnext line\u2028x", "bad")

    with pytest.raises(ServerRefused) as error:
        activate(SERVER, transport=transport)
    message = _one_line(error)
    assert "\x07" not in message and "\u2028" not in message


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"serial": "123456789010"}, "serial"),  # wrong Luhn digit
        ({"serial": "12345678901"}, "serial"),
        ({"serial": 123456789012}, "serial"),
        ({"serial": "１２３４５６７８９０１２"}, "serial"),
        ({"serial": DROP}, "serial"),
        ({"server_public_key": b64url(bytes(31))}, "server_public_key"),
        ({"server_public_key": "not base64!"}, "server_public_key"),
        ({"server_public_key": b64url(bytes(32))}, "low-order"),
        ({"salt": b64url(bytes(15))}, "salt"),
        ({"salt": b64url(bytes(16)) + "=="}, None),  # padding is allowed
        ({"algorithm": "MD5"}, "parameters"),
        ({"algorithm": "sha1"}, "parameters"),
        ({"digits": 5}, "parameters"),
        ({"digits": 9}, "parameters"),
        ({"digits": "6"}, "digits"),
        ({"digits": True}, "digits"),
        ({"period": 0}, "parameters"),
        ({"period": 3600}, "period"),
        ({"period": 30.0}, "period"),
        ({"expires_at": "2026-12-26T07:00:00"}, "expires_at"),
        ({"expires_at": "next month"}, "expires_at"),
        ({"expires_at": DROP}, "expires_at"),
    ],
)
def test_an_odd_answer_is_refused_naming_the_field(
    fake_server: FakeServer, change: dict[str, object], named: str | None
) -> None:
    fake_server.answer = change
    if named is None:
        activate(SERVER, transport=fake_server.transport)
        return
    with pytest.raises(MalformedAnswer) as error:
        activate(SERVER, transport=fake_server.transport)
    assert named in _one_line(error)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(201, text="not json", headers={"content-type": "application/json"}),
        httpx.Response(201, json=[1, 2, 3]),
        httpx.Response(201, text="<html></html>", headers={"content-type": "text/html"}),
        httpx.Response(201, content=b"{" + b" " * 70_000 + b"}",
                       headers={"content-type": "application/json"}),
        httpx.Response(200, json={}),
    ],
)
def test_a_body_that_is_not_an_activation_is_refused(response: httpx.Response) -> None:
    with pytest.raises(ActivationError) as error:
        activate(SERVER, transport=httpx.MockTransport(lambda request: response))
    _one_line(error)


@pytest.mark.parametrize(
    ("exception", "said"),
    [
        (httpx.ConnectError("Connection refused"), "cannot reach"),
        (httpx.ReadTimeout("timed out"), "did not answer"),
        (httpx.RemoteProtocolError("peer closed connection"), "cannot reach"),
    ],
)
def test_network_failures_are_activation_errors(exception: Exception, said: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    with pytest.raises(ServerUnreachable) as error:
        activate(SERVER, transport=httpx.MockTransport(handler))
    assert said in _one_line(error) and SERVER in str(error.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        (" http://localhost:8000/ ", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://ib.shinkin.example.jp/otp/", "https://ib.shinkin.example.jp/otp"),
    ],
)
def test_server_urls_are_normalised(url: str, expected: str) -> None:
    assert normalize_server_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["", "ib.example.jp", "ftp://ib.example.jp", "http://ib.example.jp",
     "https://ib.example.jp/?x=1", "https://user:secret@ib.example.jp"],
)
def test_unusable_server_urls_are_refused_before_any_request(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be made")

    with pytest.raises(InvalidServerUrl) as error:
        activate(url, transport=httpx.MockTransport(handler))
    assert "secret" not in _one_line(error)
