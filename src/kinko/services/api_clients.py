"""The bank systems' API clients: made, listed, rotated and revoked by operators, and the
check of a bearer secret and a scope on every API request.

A bearer secret reads ``kk_<id>_<secret>``: ``<id>`` finds the client by its primary key
and ``<secret>`` (32 random bytes, base64url) is compared in constant time with the SHA-256
stored for it. The secret is shown once, when made or rotated, and never stored.

Why SHA-256 and not argon2 as for passwords: a slow hash protects *guessable* secrets from
offline guessing after a database leak. 32 random bytes (256 bits) cannot be guessed, slowly
or fast, so a slow hash would only add tens of milliseconds to every API call.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kinko.domain.errors import Conflict, InvalidInput, KinkoError, NotFound
from kinko.domain.events import OPERATOR, Action, Actor, Outcome
from kinko.domain.model import ApiClient, ApiScope
from kinko.domain.secrets import ClientSecret
from kinko.services.context import Context
from kinko.services.verification import audit

NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
PREFIX = "kk"
SECRET_BYTES = 32
#: ``kk_<id>_<43 base64url characters>``; anything else is refused before the database.
_BEARER = re.compile(r"kk_([1-9][0-9]{0,17})_([A-Za-z0-9_-]{43})")
#: ``last_used_at`` is written at most this often per client, so that checking a secret is
#: a read, not a write, on nearly every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ClientUnauthorized(KinkoError):
    """Authentication is required: send a valid API client secret."""

    code = "unauthorized"


class ClientForbidden(KinkoError):
    """This API client may not do this."""

    code = "forbidden"


@dataclass(frozen=True)
class IssuedClient:
    """A client and its bearer secret, which is shown to the operator this once."""

    client: ApiClient
    bearer: ClientSecret


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _new_secret() -> tuple[str, str]:
    """A fresh secret and its hash (the hash covers the secret part only, not the id)."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return secret, _secret_hash(secret)


def _bearer(client_id: int, secret: str) -> ClientSecret:
    return ClientSecret(f"{PREFIX}_{client_id}_{secret}")


def parse_scopes(values: Iterable[str]) -> frozenset[ApiScope]:
    try:
        scopes = frozenset(ApiScope(value.strip().lower()) for value in values)
    except ValueError:
        known = ", ".join(scope.value for scope in ApiScope)
        raise InvalidInput(f"unknown scope; the scopes are {known}") from None
    if not scopes:
        raise InvalidInput("give the client at least one scope")
    return scopes


def add_client(ctx: Context, name: str, scopes: Iterable[str], *,
               actor: Actor = OPERATOR) -> IssuedClient:
    if not NAME.match(name):
        raise InvalidInput("client name must be 2-32 characters: a-z first, then a-z 0-9 . _ -")
    wanted = parse_scopes(scopes)
    now = ctx.clock()
    with ctx.uow() as uow:
        if uow.api_clients.by_name(name) is not None:
            raise Conflict(f"API client {name} already exists (names are never reused)")
        secret, digest = _new_secret()
        client = uow.api_clients.add(name=name, scopes=wanted, secret_hash=digest, now=now)
        audit(uow, now, Action.API_CLIENT_CREATED, actor,
              reason=f"{name}:{' '.join(sorted(wanted))}")
        uow.commit()
    return IssuedClient(client, _bearer(client.id, secret))


def rotate(ctx: Context, name: str, *, actor: Actor = OPERATOR) -> IssuedClient:
    """A new secret for the client; the old one stops working at once."""
    now = ctx.clock()
    with ctx.uow() as uow:
        client = _named(uow.api_clients.by_name(name), name)
        secret, digest = _new_secret()
        if not uow.api_clients.set_secret(client.id, secret_hash=digest, now=now):
            raise Conflict(f"API client {name} is revoked; add a new client instead")
        audit(uow, now, Action.API_CLIENT_ROTATED, actor, reason=name)
        uow.commit()
        client = uow.api_clients.get(client.id) or client
    return IssuedClient(client, _bearer(client.id, secret))


def revoke(ctx: Context, name: str, *, actor: Actor = OPERATOR) -> ApiClient:
    """End the client for good: its secret is refused from the next request on."""
    now = ctx.clock()
    with ctx.uow() as uow:
        client = _named(uow.api_clients.by_name(name), name)
        if not uow.api_clients.revoke(client.id, now=now):
            raise Conflict(f"API client {name} is already revoked")
        audit(uow, now, Action.API_CLIENT_REVOKED, actor, reason=name)
        uow.commit()
        return uow.api_clients.get(client.id) or client


def list_clients(ctx: Context) -> Sequence[ApiClient]:
    with ctx.uow() as uow:
        return list(uow.api_clients.listing())


def _named(client: ApiClient | None, name: str) -> ApiClient:
    if client is None:
        raise NotFound(f"no API client {name}")
    return client


def authenticate(ctx: Context, authorization: str | None, scope: ApiScope) -> ApiClient:
    """The client that sent ``Authorization: Bearer kk_<id>_<secret>``, if it may use ``scope``.

    Raises ``ClientUnauthorized`` (missing, garbled, unknown, wrong or revoked secret) or
    ``ClientForbidden`` (a good secret without the scope); neither says which. A known
    client's refusal is audited as ``api_client:refused`` with the exact reason.
    """
    parsed = _parse_bearer(authorization)
    if parsed is None:
        raise ClientUnauthorized()
    client_id, secret = parsed
    digest = _secret_hash(secret)
    now = ctx.clock()
    with ctx.uow() as uow:
        client = uow.api_clients.get(client_id)
        if client is None:
            raise ClientUnauthorized()
        refusal: KinkoError | None = None
        if not hmac.compare_digest(client.secret_hash, digest):
            refusal, reason = ClientUnauthorized(), "wrong_secret"
        elif client.revoked:
            refusal, reason = ClientUnauthorized(), "revoked"
        elif scope not in client.scopes:
            refusal, reason = ClientForbidden(), f"scope:{scope.value}"
        if refusal is not None:
            audit(uow, now, Action.API_CLIENT_REFUSED, Actor.api_client(client.name),
                  outcome=Outcome.FAILURE, reason=reason)
            uow.commit()
            raise refusal
        if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
            uow.api_clients.touch(client.id, now=now)
            uow.commit()
    return client


class Authenticator:
    """``authenticate`` with a short memory: a secret that was right is trusted again for
    ``ttl_seconds`` (on ``ctx.clock``) without reading the client, so that a busy API does
    not spend a database read per call on it.

    Only successes are remembered, keyed by the client and the SHA-256 of the secret (never
    the secret); a wrong secret, a missing scope and every refusal still go to the database
    and the audit trail. A revocation or rotation reaches this process within the TTL.
    """

    MAX_ENTRIES = 1024

    def __init__(self, ctx: Context, *, ttl_seconds: float) -> None:
        self.ctx = ctx
        self.ttl = timedelta(seconds=ttl_seconds)
        self._trusted: dict[tuple[int, str], tuple[ApiClient, datetime]] = {}
        self._lock = threading.Lock()

    def cached(self, authorization: str | None, scope: ApiScope) -> ApiClient | None:
        """The client, if its secret was checked within the TTL and it has ``scope``;
        None means: ask ``authenticate`` (no database work here, fit for the event loop)."""
        key = _trust_key(authorization) if self.ttl else None
        if key is None:
            return None
        with self._lock:
            found = self._trusted.get(key)
        if found is None:
            return None
        client, until = found
        if self.ctx.clock() >= until or scope not in client.scopes:
            return None
        return client

    def authenticate(self, authorization: str | None, scope: ApiScope) -> ApiClient:
        """``authenticate`` against the database, remembering a success."""
        client = authenticate(self.ctx, authorization, scope)
        key = _trust_key(authorization) if self.ttl else None
        if key is not None:
            with self._lock:
                if len(self._trusted) >= self.MAX_ENTRIES:
                    self._trusted.clear()
                self._trusted[key] = (client, self.ctx.clock() + self.ttl)
        return client


def _trust_key(authorization: str | None) -> tuple[int, str] | None:
    """What ``Authenticator`` remembers a secret by: the client id and the secret's hash."""
    parsed = _parse_bearer(authorization)
    return None if parsed is None else (parsed[0], _secret_hash(parsed[1]))


def _parse_bearer(authorization: str | None) -> tuple[int, str] | None:
    if authorization is None:
        return None
    kind, _, credentials = authorization.strip().partition(" ")
    if kind.lower() != "bearer":
        return None
    matched = _BEARER.fullmatch(credentials.strip())
    if matched is None:
        return None
    return int(matched.group(1)), matched.group(2)


def actor_of(client: ApiClient) -> Actor:
    return Actor.api_client(client.name)

