"""kinko's settings, read from ``KINKO_*`` environment variables (or a ``.env`` file).

Defaults give a working embedded install: SQLite and the key file under ``./var/``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kinko.domain.notices import RetryPolicy
from kinko.domain.policy import Policy
from kinko.domain.throttle import RateLimit


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KINKO_", env_file=".env", extra="ignore")

    #: Where the SQLite database and the master key file live by default.
    data_dir: Path = Path("var")
    #: SQLAlchemy URL; ``postgresql://user@host/db`` for production.
    database_url: str = ""
    #: PostgreSQL connections each server process keeps open (SQLAlchemy ``pool_size``)
    #: and may open beyond that under load (``max_overflow``). Every process can hold up to
    #: their sum: keep processes × (pool + overflow) below the server's max_connections.
    #: SQLite ignores both.
    db_pool_size: int = Field(default=5, ge=1, le=1000)
    db_max_overflow: int = Field(default=10, ge=0, le=1000)
    #: The seed master key file (created on first run, mode 0600).
    key_file: Path | None = None
    #: A base64 32-byte master key instead of the file (no rotation from the CLI then).
    master_key: SecretStr | None = None

    #: The issuer shown by authenticator apps and in notices.
    bank_name: str = "きんこ信用金庫"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: critical, error, warning, info, debug (kinko's own decision lines) or trace.
    log_level: str = Field(default="info",
                           pattern=r"^(?i:critical|error|warning|info|debug|trace)$")
    #: ``text`` (one readable line per event) or ``json`` (one JSON object per line).
    log_format: Literal["text", "json"] = "text"

    otp_window: int = Field(default=1, ge=0, le=10)
    otp_max_failures: int = Field(default=5, ge=1)
    otp_resync_search: int = Field(default=1000, ge=1)
    password_max_failures: int = Field(default=5, ge=1)
    unbound_ttl_days: int = Field(default=30, ge=1)
    #: Token activations allowed per client address and window.
    activation_limit_attempts: int = Field(default=10, ge=1)
    activation_limit_window_seconds: int = Field(default=600, ge=1)
    #: Password checks (login, and step ② of 利用開始 / 利用中止 / 交換) allowed per client
    #: address and per contract ID in a sliding window. Customers of mobile carriers share
    #: addresses (carrier-grade NAT), so the address limit is the looser one.
    login_limit_address_attempts: int = Field(default=30, ge=1)
    login_limit_contract_attempts: int = Field(default=10, ge=1)
    login_limit_window_seconds: int = Field(default=300, ge=1)
    #: How long a server process trusts an API client secret it has checked, before it
    #: reads the client again: a revocation or rotation made elsewhere (the CLI, another
    #: process) takes effect within this many seconds. 0 reads the client on every call.
    api_client_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    #: Bank policy: may customers use another authenticator app (otpauth:// QR code)?
    third_party_apps: bool = False

    #: Customer e-mail notices (``kinko.notify``) go through this SMTP server. The default
    #: is a local debugging server: ``python -m aiosmtpd -n`` listens on 127.0.0.1:8025.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    #: The From address; its domain also names the notices' Message-IDs.
    smtp_from: str = Field(default="noreply@kinko.example.jp", pattern=r"^[^@\s]+@[^@\s]+$")
    #: Upgrade the connection with STARTTLS (certificate and host name verified).
    smtp_starttls: bool = False
    smtp_username: SecretStr | None = None
    smtp_password: SecretStr | None = None
    #: Seconds any one SMTP network operation may take.
    smtp_timeout_seconds: float = Field(default=30, gt=0, le=600)
    #: Delivery attempts per notice before it is marked failed (for staff to see).
    notice_max_attempts: int = Field(default=10, ge=1)
    #: The wait after the first failed attempt; it doubles after each one, up to the maximum.
    notice_retry_seconds: int = Field(default=60, ge=1)
    notice_retry_max_seconds: int = Field(default=3600, ge=1)
    #: How long a worker holds a claimed notice; if it has not reported by then (it died,
    #: or the server stalled), another delivery attempt is made.
    notice_lease_seconds: int = Field(default=300, ge=1)

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        # A lease shorter than one SMTP exchange would let a second worker resend a notice
        # that is still being delivered.
        if self.notice_lease_seconds <= 4 * self.smtp_timeout_seconds:
            raise ValueError("notice_lease_seconds must exceed 4 × smtp_timeout_seconds")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kinko.db'}"

    @property
    def effective_key_file(self) -> Path:
        return self.key_file or self.data_dir / "master.key"

    def activation_limit(self) -> RateLimit:
        return RateLimit(self.activation_limit_attempts,
                         timedelta(seconds=self.activation_limit_window_seconds))

    def notice_retry(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.notice_max_attempts,
            first_delay=timedelta(seconds=self.notice_retry_seconds),
            max_delay=timedelta(seconds=max(self.notice_retry_seconds,
                                            self.notice_retry_max_seconds)),
            lease=timedelta(seconds=self.notice_lease_seconds),
        )

    def policy(self) -> Policy:
        return Policy(
            window=self.otp_window,
            max_code_failures=self.otp_max_failures,
            resync_search=self.otp_resync_search,
            max_password_failures=self.password_max_failures,
            unbound_ttl=timedelta(days=self.unbound_ttl_days),
            login_per_address=RateLimit(self.login_limit_address_attempts,
                                        timedelta(seconds=self.login_limit_window_seconds)),
            login_per_contract=RateLimit(self.login_limit_contract_attempts,
                                         timedelta(seconds=self.login_limit_window_seconds)),
        )
