"""Activating a new token against the kinko server (DESIGN.md, "Token activation").

A fresh X25519 key pair is made for each activation; only its public half is sent, and the
seed is derived on both sides, so it never crosses the network.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import math
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kinko.domain.activation import (
    KEY_LENGTH,
    SALT_LENGTH,
    ActivationOffer,
    b64url,
    derive_seed,
    from_b64url,
    public_key_from_bytes,
)
from kinko.domain.errors import InvalidInput
from kinko.domain.otp import Algorithm, TotpParameters
from kinko.domain.secrets import Seed
from kinko.domain.serials import is_valid_serial
from kinko_token import __version__
from kinko_token.errors import (
    ActivationError,
    InvalidServerUrl,
    MalformedAnswer,
    RateLimited,
    ServerRefused,
    ServerUnreachable,
)
from kinko_token.tokens import TokenInfo, parse_timestamp

__all__ = [
    "ACTIVATIONS_PATH",
    "ActivatedToken",
    "ActivationError",
    "activate",
    "normalize_server_url",
]

ACTIVATIONS_PATH = "/api/v1/activations"
# The token app shows codes in a 30-second rhythm; a period far from that is not a bank's.
_PERIOD_RANGE = (10, 300)
_MAX_ANSWER_BYTES = 64 * 1024
_MAX_DETAIL_CHARS = 300


@dataclass(frozen=True)
class ActivatedToken:
    """A token the server has just made: what the file keeps in the clear, and the seed."""

    info: TokenInfo
    seed: Seed


def activate(
    server_url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10,
    clock: Callable[[], float] = time.time,
) -> ActivatedToken:
    """Ask the server at ``server_url`` for a new token and derive its seed.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``); ``clock``
    dates the activation. Every failure is an ``ActivationError`` with a one-line message.
    """
    base = normalize_server_url(server_url)
    private_key = X25519PrivateKey.generate()  # lives only in this call
    body = {"client_public_key": b64url(private_key.public_key().public_bytes_raw())}
    try:
        with httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": f"kinko-token/{__version__}"},
        ) as http:
            response = http.post(base + ACTIVATIONS_PATH, json=body)
    except httpx.TimeoutException:
        raise ServerUnreachable(
            f"サーバーが応答しません / the server {base} did not answer within {timeout:g} s"
        ) from None
    except httpx.HTTPError as error:
        raise ServerUnreachable(
            f"サーバーに接続できません / cannot reach the server {base}: "
            f"{_one_line(str(error)) or type(error).__name__}"
        ) from None
    if response.status_code != httpx.codes.CREATED:
        raise _refusal(response, clock)
    answer = _parse_answer(response)
    offer = answer.offer
    try:
        seed = derive_seed(
            private_key,
            public_key_from_bytes(offer.server_public_key, field="server_public_key"),
            salt=offer.salt,
            serial=offer.serial,
        )
    except InvalidInput as error:
        raise _malformed(str(error)) from None
    info = TokenInfo(
        serial=offer.serial,
        server=base,
        parameters=answer.parameters,
        activated_at=datetime.fromtimestamp(clock(), UTC),
        expires_at=answer.expires_at,
    )
    return ActivatedToken(info=info, seed=seed)


def normalize_server_url(text: str) -> str:
    """The server's base URL without a trailing slash; InvalidServerUrl if unusable.

    Plain http is accepted only for a loopback host (a test or demo server on this machine):
    anywhere else a man in the middle could stand in for the bank during activation.
    """
    try:
        url = httpx.URL(text.strip())
    except (httpx.InvalidURL, TypeError):
        raise _bad_url(text, "it is not a URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise _bad_url(text, "use http(s)://host[:port]")
    if url.userinfo:  # may hold a password: not repeated in the message
        raise _bad_url("https://…@…", "it must not hold a user name or password")
    if url.query or url.fragment:
        raise _bad_url(text, "it must not hold a query or a fragment")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise _bad_url(text, "use https:// (plain http only for this machine)")
    return str(url).rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bad_url(text: str, why: str) -> InvalidServerUrl:
    return InvalidServerUrl(
        f"サーバーのURLが正しくありません / the server URL {_one_line(text)!r} "
        f"is not usable: {why}"
    )


def _malformed(why: str) -> MalformedAnswer:
    return MalformedAnswer(
        f"サーバーの応答が正しくありません / the server's answer does not follow the activation "
        f"protocol: {why}"
    )


def _one_line(text: str, limit: int = _MAX_DETAIL_CHARS) -> str:
    """Server-supplied text made safe for one terminal line: no control characters (no escape
    sequences), whitespace collapsed, at most ``limit`` characters."""
    cleaned = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text
    )
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _json_body(response: httpx.Response) -> Any:
    if len(response.content) > _MAX_ANSWER_BYTES:
        raise ValueError("the answer is too large")
    return json.loads(response.content)


def _refusal(response: httpx.Response, clock: Callable[[], float]) -> ServerRefused:
    status = response.status_code
    problem: dict[str, Any] = {}
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in ("application/problem+json", "application/json"):
        try:
            body = _json_body(response)
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict):
            problem = body
    detail = problem.get("detail") or problem.get("title")
    detail = _one_line(detail) if isinstance(detail, str) else None
    code = problem.get("code")
    code = _one_line(code, 60) if isinstance(code, str) else None
    said = detail or _one_line(response.reason_phrase) or "no detail"
    where = f"HTTP {status}" + (f", {code}" if code else "")
    if status == httpx.codes.TOO_MANY_REQUESTS:
        retry_after = _retry_after(response.headers.get("retry-after"), clock)
        if retry_after is None:
            wait = "しばらく待ってからもう一度お試しください / too many activations; try later"
        else:
            wait = (f"{retry_after}秒ほど待ってからもう一度お試しください / too many activations; "
                    f"try again in {retry_after} s")
        return RateLimited(
            f"有効化の回数が多すぎます。{wait}: {said} ({where})",
            status=status, code=code, detail=detail, retry_after=retry_after,
        )
    if 300 <= status < 400:
        said = f"redirected to {_one_line(response.headers.get('location', '?'), 100)}"
    elif status < 300:
        said = "expected 201 Created"
    return ServerRefused(
        f"サーバーが有効化を受け付けませんでした / the server refused the activation: "
        f"{said} ({where})",
        status=status, code=code, detail=detail,
    )


def _retry_after(value: str | None, clock: Callable[[], float]) -> int | None:
    """Retry-After as whole seconds: a number, or an HTTP date counted from ``clock``."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, math.ceil(when.timestamp() - clock()))


@dataclass(frozen=True)
class _Answer:
    """The server's 201 answer, checked: the offer as the protocol names it, and its
    parameters and deadline already parsed."""

    offer: ActivationOffer
    parameters: TotpParameters
    expires_at: datetime


def _parse_answer(response: httpx.Response) -> _Answer:
    """The 201 answer, every field checked; MalformedAnswer names the first odd one."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise _malformed(f"content type {_one_line(media_type, 60) or 'none'}, not JSON")
    try:
        body = _json_body(response)
    except (ValueError, UnicodeDecodeError):
        raise _malformed("the body is not JSON") from None
    if not isinstance(body, dict):
        raise _malformed("the body is not a JSON object")

    def text(name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str):
            raise _malformed(f"{name} is missing or not a string")
        return value

    def number(name: str) -> int:
        value = body.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _malformed(f"{name} is missing or not an integer")
        return value

    serial = text("serial")
    if not is_valid_serial(serial):
        raise _malformed("serial is not 12 digits with a valid check digit")
    try:
        server_public_key = from_b64url(
            text("server_public_key"), field="server_public_key", length=KEY_LENGTH
        )
        salt = from_b64url(text("salt"), field="salt", length=SALT_LENGTH)
    except InvalidInput as error:
        raise _malformed(str(error)) from None
    algorithm = text("algorithm")
    digits, period = number("digits"), number("period")
    try:
        parameters = TotpParameters(algorithm=Algorithm(algorithm), digits=digits, period=period)
    except (ValueError, InvalidInput):
        raise _malformed(
            f"unsupported OTP parameters {_one_line(algorithm, 20)}/{digits}/{period}"
        ) from None
    if not _PERIOD_RANGE[0] <= period <= _PERIOD_RANGE[1]:
        raise _malformed(f"period {period} s is outside {_PERIOD_RANGE[0]}..{_PERIOD_RANGE[1]}")
    expires_at = text("expires_at")
    try:
        deadline = parse_timestamp(expires_at)
    except ValueError:
        raise _malformed("expires_at is not an ISO 8601 timestamp with a zone") from None
    offer = ActivationOffer(
        serial=serial,
        server_public_key=server_public_key,
        salt=salt,
        algorithm=algorithm,
        digits=digits,
        period=period,
        expires_at=expires_at,
    )
    return _Answer(offer=offer, parameters=parameters, expires_at=deadline)
