"""Audit event names and the event record: who did what, through which channel, and how it ended.

An event never carries a seed, a code or a password; the fields below are all there is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Action(enum.StrEnum):
    CUSTOMER_CREATED = "customer:created"
    LOGIN_PASSWORD_CHECKED = "customer:login_password:checked"
    CONFIRMATION_PASSWORD_CHECKED = "customer:confirmation_password:checked"
    PASSWORD_LOCKED = "customer:password:locked"
    PASSWORD_UNLOCKED = "customer:password:unlocked"
    LOGIN = "customer:login"
    LOGIN_OTP_CHANGED = "customer:login_otp:changed"
    TRANSACTION_AUTHORIZED = "transaction:authorized"
    #: 振込限度額 changed by the customer (reason: old and new limit in yen).
    TRANSFER_LIMIT_CHANGED = "customer:transfer_limit:changed"
    #: 登録振込先: a payee saved or deleted (reason: the payee's masked account).
    PAYEE_SAVED = "customer:payee:saved"
    PAYEE_DELETED = "customer:payee:deleted"

    TOKEN_ISSUED = "token:issued"
    TOKEN_CODE_CHECKED = "token:code:checked"
    TOKEN_BOUND = "token:bound"
    TOKEN_STOPPED = "token:stopped"
    TOKEN_EXCHANGED = "token:exchanged"
    TOKEN_LOCKED = "token:locked"
    TOKEN_UNLOCKED = "token:unlocked"
    TOKEN_SUSPENDED = "token:suspended"
    TOKEN_RESUMED = "token:resumed"
    TOKEN_REVOKED = "token:revoked"
    TOKEN_EXPIRED = "token:expired"
    TOKEN_RESYNCED = "token:resynced"

    STAFF_CREATED = "staff:created"
    STAFF_SIGN_IN = "staff:sign_in"
    REQUEST_CREATED = "staff:request:created"
    REQUEST_APPROVED = "staff:request:approved"
    REQUEST_REJECTED = "staff:request:rejected"

    KEYS_ROTATED = "keys:rotated"

    API_CLIENT_CREATED = "api_client:created"
    API_CLIENT_ROTATED = "api_client:rotated"
    API_CLIENT_REVOKED = "api_client:revoked"
    #: A known client was turned away: wrong secret, revoked, or lacking the scope.
    API_CLIENT_REFUSED = "api_client:refused"
    #: A bank system read a customer's OTP status, token history or the audit trail.
    API_READ = "api:read"


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


class Channel(enum.StrEnum):
    WEB = "web"          # customer internet-banking screens
    API = "api"          # bank systems over JSON
    CONSOLE = "console"  # bank staff console
    CLI = "cli"          # operators on the server
    SYSTEM = "system"    # background jobs (expiry sweeps)


@dataclass(frozen=True)
class Actor:
    """Who acted: ``customer:<contract_id>``, ``staff:<name>``, ``api:<client name>``,
    ``operator`` or ``system``."""

    name: str
    channel: Channel

    @classmethod
    def customer(cls, contract_id: str, channel: Channel = Channel.WEB) -> Actor:
        return cls(f"customer:{contract_id}", channel)

    @classmethod
    def staff(cls, staff_id: str) -> Actor:
        return cls(f"staff:{staff_id}", Channel.CONSOLE)

    @classmethod
    def api_client(cls, name: str) -> Actor:
        """A bank system calling the JSON API with its client secret."""
        return cls(f"{API_ACTOR_PREFIX}{name}", Channel.API)


API_ACTOR_PREFIX = "api:"
OPERATOR = Actor("operator", Channel.CLI)
SYSTEM = Actor("system", Channel.SYSTEM)


@dataclass(frozen=True)
class AuditEvent:
    occurred_at: datetime
    action: Action
    outcome: Outcome
    actor: str
    channel: Channel
    contract_id: str | None = None
    serial: str | None = None
    #: A short, secret-free reason: an error code (``wrong_code``) or staff's chosen reason.
    reason: str | None = None
