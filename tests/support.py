"""Test helpers: a settable clock, a wired kinko on a real database, and code makers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from kinko.bootstrap import Kinko, build
from kinko.config import Settings
from kinko.domain.model import Customer, TokenOrigin
from kinko.domain.secrets import Code, Password
from kinko.services import customers, enrollment
from kinko.services.context import Context
from kinko.services.issuance import IssuedToken, issue_token
from kinko.services.passwords import Argon2Hasher
from kinko.store.keyring import Keyring
from kinko.store.seedbox import SeedBox

LOGIN_PASSWORD = "login-pass-1"
CONFIRMATION_PASSWORD = "confirm-pass-2"


class FakeClock:
    """A clock that tests move by hand; starts at a fixed, step-aligned instant."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 4, 1, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Harness:
    kinko: Kinko
    clock: FakeClock

    @property
    def ctx(self) -> Context:
        return self.kinko.ctx

    def customer(self, contract_id: str = "1000000001", *, name: str = "金庫 太郎") -> Customer:
        return customers.add_customer(
            self.ctx,
            contract_id=contract_id,
            name=name,
            login_password=Password(LOGIN_PASSWORD),
            confirmation_password=Password(CONFIRMATION_PASSWORD),
            email=f"{contract_id}@example.jp",
        )

    def issue(self, origin: TokenOrigin = TokenOrigin.ISSUED) -> IssuedToken:
        return issue_token(self.ctx, origin)

    def code(self, issued: IssuedToken, *, steps: int = 0) -> Code:
        """The code the token shows now, or ``steps`` periods later (negative: earlier)."""
        params = issued.token.params
        at = self.clock.now.timestamp() + steps * params.period
        return Code(params.code_at(issued.seed.reveal(), at))

    def wrong_code(self, issued: IssuedToken) -> Code:
        """A six-digit code that matches none of the steps in the window."""
        params = issued.token.params
        now = self.clock.now.timestamp()
        near = {params.code_at(issued.seed.reveal(), now + d * params.period)
                for d in range(-3, 4)}
        candidate = 0
        while f"{candidate:06d}" in near:
            candidate += 1
        return Code(f"{candidate:06d}")

    def next_step(self) -> None:
        """Move the clock one period on, so a fresh code is available."""
        self.clock.advance(30)

    def enroll(self, customer: Customer, *, login_otp: bool = False) -> IssuedToken:
        """利用開始 done the way the guide says, returning the now active token."""
        issued = self.issue()
        started = enrollment.begin(self.ctx, customer.contract_id, Password(LOGIN_PASSWORD))
        confirmed = enrollment.confirm_token(
            self.ctx, started, issued.token.serial, self.code(issued)
        )
        enrollment.register(
            self.ctx, confirmed, login_otp_required=login_otp,
            confirmation_password=Password(CONFIRMATION_PASSWORD),
        )
        self.next_step()
        return issued


def make_harness(engine: Engine, *, seedbox: SeedBox | None = None,
                 **settings: object) -> Harness:
    """A kinko on ``engine`` with a fake clock; ``settings`` override ``KINKO_*`` defaults."""
    clock = FakeClock()
    kinko = build(
        Settings(database_url=str(engine.url), **settings),
        engine=engine,
        seedbox=seedbox or SeedBox(Keyring.generate()),
        hasher=Argon2Hasher.fast_for_tests(),
        clock=clock,
    )
    return Harness(kinko, clock)
