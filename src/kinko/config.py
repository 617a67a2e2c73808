"""kinko's settings, read from ``KINKO_*`` environment variables (or a ``.env`` file).

Defaults give a working embedded install: SQLite and the key file under ``./var/``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kinko.domain.policy import Policy
from kinko.services.activation import ActivationLimit


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KINKO_", env_file=".env", extra="ignore")

    #: Where the SQLite database and the master key file live by default.
    data_dir: Path = Path("var")
    #: SQLAlchemy URL; ``postgresql://user@host/db`` for production.
    database_url: str = ""
    #: The seed master key file (created on first run, mode 0600).
    key_file: Path | None = None
    #: A base64 32-byte master key instead of the file (no rotation from the CLI then).
    master_key: SecretStr | None = None

    #: The issuer shown by authenticator apps and in notices.
    bank_name: str = "きんこ信用金庫"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"

    otp_window: int = Field(default=1, ge=0, le=10)
    otp_max_failures: int = Field(default=5, ge=1)
    otp_resync_search: int = Field(default=1000, ge=1)
    password_max_failures: int = Field(default=5, ge=1)
    unbound_ttl_days: int = Field(default=30, ge=1)
    #: Token activations allowed per client address and window.
    activation_limit_attempts: int = Field(default=10, ge=1)
    activation_limit_window_seconds: int = Field(default=600, ge=1)
    #: Bank policy: may customers use another authenticator app (otpauth:// QR code)?
    third_party_apps: bool = False

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kinko.db'}"

    @property
    def effective_key_file(self) -> Path:
        return self.key_file or self.data_dir / "master.key"

    def activation_limit(self) -> ActivationLimit:
        return ActivationLimit(self.activation_limit_attempts,
                               timedelta(seconds=self.activation_limit_window_seconds))

    def policy(self) -> Policy:
        return Policy(
            window=self.otp_window,
            max_code_failures=self.otp_max_failures,
            resync_search=self.otp_resync_search,
            max_password_failures=self.password_max_failures,
            unbound_ttl=timedelta(days=self.unbound_ttl_days),
        )
