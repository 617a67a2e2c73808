"""The composition root: settings in, a wired ``Kinko`` (engine, seed box, services) out.

Nothing is built at import time; the CLI, the web app and tests each call ``build``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from kinko.config import Settings
from kinko.metrics import PrometheusMetrics
from kinko.services.context import Clock, Context, Metrics, system_clock
from kinko.services.health import DatabaseHealth, SchemaStatus
from kinko.services.passwords import Argon2Hasher
from kinko.services.ports import AuditTrail, PasswordHasher
from kinko.services.websessions import SessionStore
from kinko.store.audit_trail import SqlAuditTrail
from kinko.store.db import SqlDatabaseHealth, make_engine, upgrade
from kinko.store.keyring import Keyring
from kinko.store.keys import SeedKeys
from kinko.store.seedbox import SeedBox
from kinko.store.sessions import SqlSessionStore
from kinko.store.uow import SqlUnitOfWorkFactory


@dataclass(frozen=True)
class Kinko:
    settings: Settings
    engine: Engine
    seedbox: SeedBox
    ctx: Context

    def close(self) -> None:
        self.engine.dispose()

    @property
    def audit_trail(self) -> AuditTrail:
        """The audit trail (events, chain, MACs) for ``kinko.services.audit``."""
        return SqlAuditTrail(self.engine, self.seedbox)

    @property
    def health(self) -> DatabaseHealth:
        """What /readyz and the worker factory ask the database (schema, newest seed key)."""
        return SqlDatabaseHealth(self.engine)

    def web_sessions(self, *, realm: str, idle_timeout: timedelta) -> SessionStore:
        """The web sessions of one realm (a site with its own cookie), in the database."""
        return SqlSessionStore(self.engine, realm=realm, idle_timeout=idle_timeout)

    def upgrade_schema(self) -> SchemaStatus:
        """Migrate the database to this code's newest schema (`kinko db upgrade`)."""
        upgrade(self.engine)
        return self.health.schema()

    @property
    def seed_keys(self) -> SeedKeys:
        """The seed keys' custody for `kinko keys`: rotate, prune, which key seals what."""
        return SeedKeys(self.engine, self.seedbox, self.settings.effective_key_file)


def open_seedbox(settings: Settings) -> SeedBox:
    if settings.master_key is not None:
        return SeedBox(Keyring.from_env_value(settings.master_key.get_secret_value()))
    key_file = settings.effective_key_file
    keyring, _ = Keyring.load_or_create(key_file)
    return SeedBox(keyring, key_file=key_file)


def build(
    settings: Settings,
    *,
    hasher: PasswordHasher | None = None,
    clock: Clock = system_clock,
    engine: Engine | None = None,
    seedbox: SeedBox | None = None,
    metrics: Metrics | None = None,
) -> Kinko:
    """Wire kinko for ``settings``; each argument given replaces what would be built.

    ``metrics`` defaults to a fresh ``PrometheusMetrics`` (its own registry) that also reads
    its gauges from this engine's database.
    """
    engine = engine or make_engine(settings.effective_database_url,
                                   pool_size=settings.db_pool_size,
                                   max_overflow=settings.db_max_overflow)
    seedbox = seedbox or open_seedbox(settings)
    ctx = Context(
        uow=SqlUnitOfWorkFactory(engine, seedbox),
        hasher=hasher or Argon2Hasher(),
        policy=settings.policy(),
        clock=clock,
        metrics=metrics if metrics is not None else PrometheusMetrics(engine),
    )
    return Kinko(settings, engine, seedbox, ctx)
