"""Tokens in SQL: the reads the services need, and ``settle``, the one compare-and-set that
applies a verification's decision to exactly the token version it was made on.

Replay and lockout are single conditional statements: atomic on SQLite (one writer at a
time) and on PostgreSQL (row lock, WHERE re-checked after the wait).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Row, String, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinko.domain.errors import Conflict
from kinko.domain.events import AuditEvent
from kinko.domain.lifecycle import BOUND_STATES, TokenState
from kinko.domain.model import Token, TokenOrigin
from kinko.domain.otp import Algorithm, TotpParameters
from kinko.domain.secrets import Seed
from kinko.domain.verification import Accept, Decision
from kinko.lru import Lru
from kinko.services.ports import ListedToken, NewToken, TokenRef, Verifiable
from kinko.store.audit_log import AUDIT, AUDIT_FIELDS, SqlAuditLog, audit_values
from kinko.store.rows import Base, CustomerRow, TokenRow, UTCDateTime
from kinko.store.seedbox import SealedSeed, SeedBox
from kinko.store.sql import execute, read_one, rowcount

_BOUND = [state.value for state in BOUND_STATES]


def _params(row: TokenRow | Row[Any]) -> TotpParameters:
    return TotpParameters(
        algorithm=Algorithm(row.algorithm), digits=row.digits, period=row.period, t0=row.t0
    )


def _token(row: TokenRow | Row[Any]) -> Token:
    return Token(
        id=row.id,
        serial=row.serial,
        state=TokenState(row.state),
        customer_id=row.customer_id,
        params=_params(row),
        origin=TokenOrigin(row.origin),
        last_step=row.last_step,
        drift=row.drift,
        failures=row.failures,
        created_at=row.created_at,
        expires_at=row.expires_at,
        bound_at=row.bound_at,
        state_changed_at=row.state_changed_at,
        last_used_at=row.last_used_at,
        staff_id=row.staff_id,
        version=row.version,
    )



class OpenedSeeds:
    """The one cache the verification keeps: seeds opened from their sealed form, bounded,
    shared by the threads of one process (``SqlUnitOfWorkFactory`` holds it).

    An entry is keyed by the token and the nonce of the sealed form it was opened from, and
    every sealing makes a new random nonce: a reseal under a new key (``kinko keys
    rotate``) simply stops using the old entry. It saves the AES-GCM opening; the token's
    state is read afresh for every check. Opened seeds stay in this process's memory while
    cached, as they already do while a request checks a code.
    """

    def __init__(self, seedbox: SeedBox, size: int = 65_536) -> None:
        self._seedbox = seedbox
        self._entries: Lru[tuple[int, bytes], Seed] = Lru(size)

    def open(self, token_id: int, serial: str, sealed: SealedSeed) -> Seed:
        key = (token_id, sealed.nonce)
        seed = self._entries.get(key)
        if seed is None:
            seed = self._seedbox.open(serial, sealed)
            self._entries.put(key, seed)
        return seed

    def __len__(self) -> int:
        return len(self._entries)


_TOKENS = Base.metadata.tables[TokenRow.__tablename__]
_CUSTOMERS = Base.metadata.tables[CustomerRow.__tablename__]


def _settle_update(shape: str) -> Executable:
    """One decision applied to exactly the token version it was made on: ``accept`` spends a
    step; ``count`` counts a wrong code; ``count_state`` counts one and changes the state
    (the failure limit); ``state`` changes the state alone (a binding period run out)."""
    # Bound names never equal a column's: a parameter named like a column would be SET too.
    values: dict[str, Any] = {"version": _TOKENS.c.version + 1}
    if shape == "accept":
        values |= {"last_step": bindparam("new_step"), "drift": bindparam("new_drift"),
                   "failures": 0, "last_used_at": bindparam("at", type_=UTCDateTime())}
    if shape in ("count", "count_state"):
        values["failures"] = bindparam("new_failures")
    if shape in ("count_state", "state"):
        values |= {"state": bindparam("new_state"),
                   "state_changed_at": bindparam("at", type_=UTCDateTime())}
    return (
        update(_TOKENS)
        .where(_TOKENS.c.id == bindparam("token_id"),
               _TOKENS.c.version == bindparam("read_version"))
        .values(values)
        .returning(_TOKENS.c.id)
    )


def _settle_and_record(shape: str) -> Executable:
    """PostgreSQL: the settling update and its audit event as one statement (a data-modifying
    CTE): the event row exists if and only if the update applied. Every column of the event,
    its MAC included, is a bound value computed before the statement."""
    settled = _settle_update(shape).cte("settled")  # type: ignore[attr-defined]
    values = [bindparam(f"audit_{name}", type_=UTCDateTime() if name == "occurred_at"
                        else String()) for name in AUDIT_FIELDS]
    return (
        insert(AUDIT)
        .from_select(list(AUDIT_FIELDS), select(*values).select_from(settled))
        .returning(AUDIT.c.id)
    )


def _shape(decision: Decision) -> str | None:
    """Which settling statement a decision needs; None when it changes nothing."""
    if isinstance(decision, Accept):
        return "accept"
    if decision.failures is not None:
        return "count_state" if decision.state is not None else "count"
    return "state" if decision.state is not None else None


def _for_verification(by: str) -> Executable:
    """A token row (with its sealed seed) and its customer's contract ID, found by id, by the
    bound token of a contract ID, or by the serial of a customer's token."""
    joined = _TOKENS.outerjoin(_CUSTOMERS, _CUSTOMERS.c.id == _TOKENS.c.customer_id)
    wanted = {
        "id": _TOKENS.c.id == bindparam("token_id"),
        "contract": and_(_CUSTOMERS.c.contract_id == bindparam("contract_id"),
                         _TOKENS.c.state.in_(_BOUND)),
        "serial": and_(_TOKENS.c.serial == bindparam("serial"),
                       _TOKENS.c.customer_id.is_not(None)),
    }[by]
    return select(_TOKENS, _CUSTOMERS.c.contract_id).select_from(joined).where(wanted)


_STATEMENTS: dict[tuple[str, str], Executable] = {}


def _statement(kind: str, variant: str) -> Executable:
    # Built once per process (SQLAlchemy then caches the compiled SQL per dialect).
    statement = _STATEMENTS.get((kind, variant))
    if statement is None:
        build = {"read": _for_verification, "settle": _settle_update,
                 "settle_and_record": _settle_and_record}[kind]
        statement = _STATEMENTS[(kind, variant)] = build(variant)
    return statement


class SqlTokenRepository:
    def __init__(self, session: Session, seedbox: SeedBox,
                 seeds: OpenedSeeds | None = None) -> None:
        self._session = session
        self._seedbox = seedbox
        self._seeds = seeds if seeds is not None else OpenedSeeds(seedbox, size=1)

    def add(self, new: NewToken, seed: Seed) -> Token:
        sealed = self._seedbox.seal(new.serial, seed)
        row = TokenRow(
            serial=new.serial,
            state=TokenState.UNBOUND.value,
            origin=new.origin.value,
            algorithm=new.params.algorithm.value,
            digits=new.params.digits,
            period=new.params.period,
            t0=new.params.t0,
            seed_key_id=sealed.key_id,
            seed_nonce=sealed.nonce,
            seed_ciphertext=sealed.ciphertext,
            drift=0,
            failures=0,
            created_at=new.created_at,
            expires_at=new.expires_at,
            state_changed_at=new.created_at,
        )
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError:
            raise Conflict("serial number already taken") from None
        return _token(row)

    def get(self, token_id: int) -> Token | None:
        row = read_one(self._session, select(_TOKENS).where(_TOKENS.c.id == token_id))
        return _token(row) if row else None

    def by_serial(self, serial: str) -> Token | None:
        row = read_one(self._session, select(_TOKENS).where(_TOKENS.c.serial == serial))
        return _token(row) if row else None

    def serial_exists(self, serial: str) -> bool:
        return self._session.execute(
            select(TokenRow.id).where(TokenRow.serial == serial)
        ).first() is not None

    def bound_to(self, customer_id: int) -> Token | None:
        row = read_one(self._session, select(_TOKENS).where(
            _TOKENS.c.customer_id == customer_id, _TOKENS.c.state.in_(_BOUND)))
        return _token(row) if row else None

    def of_customer(self, customer_id: int) -> Sequence[Token]:
        rows = self._session.execute(
            select(TokenRow).where(TokenRow.customer_id == customer_id).order_by(TokenRow.id)
        ).scalars()
        return [_token(row) for row in rows]

    def seed(self, token: Token) -> Seed:
        row = self._session.execute(
            select(TokenRow.seed_key_id, TokenRow.seed_nonce, TokenRow.seed_ciphertext)
            .where(TokenRow.id == token.id)
        ).one()
        return self._seedbox.open(token.serial, SealedSeed(row[0], row[1], row[2]))

    def for_verification(self, ref: TokenRef) -> Verifiable | None:
        by, parameters = (
            ("id", {"token_id": ref.token_id}) if ref.token_id is not None
            else ("contract", {"contract_id": ref.contract_id}) if ref.contract_id is not None
            else ("serial", {"serial": ref.serial}))
        row = read_one(self._session, _statement("read", by), parameters)
        if row is None:
            return None
        seed = self._seeds.open(
            row.id, row.serial, SealedSeed(row.seed_key_id, row.seed_nonce, row.seed_ciphertext))
        return Verifiable(_token(row), seed, row.contract_id)

    def settle(self, token: Token, decision: Decision, *, now: datetime,
               event: AuditEvent) -> bool:
        shape = _shape(decision)
        audit_log = SqlAuditLog(self._session, self._seedbox)
        if shape is None:
            audit_log.record(event)
            return True
        parameters: dict[str, Any] = {"token_id": token.id, "read_version": token.version,
                                      "at": now}
        if isinstance(decision, Accept):
            parameters |= {"new_step": decision.step, "new_drift": decision.drift}
        else:
            if decision.failures is not None:
                parameters["new_failures"] = decision.failures
            if decision.state is not None:
                parameters["new_state"] = decision.state.value
        if self._session.get_bind().dialect.name == "postgresql":
            parameters |= {f"audit_{name}": value
                           for name, value in audit_values(event, self._seedbox).items()}
            settled = execute(self._session, _statement("settle_and_record", shape),
                               parameters).first()
            return settled is not None
        settled = execute(self._session, _statement("settle", shape), parameters).first()
        if settled is None:
            return False
        audit_log.record(event)
        return True

    def change_state(
        self, token_id: int, *, from_states: Collection[TokenState], to_state: TokenState,
        now: datetime, customer_id: int | None = None, staff_id: int | None = None,
        reset_failures: bool = False,
    ) -> bool:
        values: dict[str, object] = {"state": to_state.value, "state_changed_at": now,
                                     "version": TokenRow.version + 1}
        if customer_id is not None:
            values |= {"customer_id": customer_id, "bound_at": now}
        if staff_id is not None:
            values |= {"staff_id": staff_id, "bound_at": now}
        if reset_failures:
            values["failures"] = 0
        try:
            result = self._session.execute(
                update(TokenRow)
                .where(TokenRow.id == token_id,
                       TokenRow.state.in_([s.value for s in from_states]))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        except IntegrityError:
            raise Conflict("this contract already has a token in use") from None
        return rowcount(result) == 1

    def set_sync(self, token_id: int, *, last_step: int, drift: int, now: datetime) -> bool:
        result = self._session.execute(
            update(TokenRow)
            .where(TokenRow.id == token_id,
                   or_(TokenRow.last_step.is_(None), TokenRow.last_step < last_step))
            .values(last_step=last_step, drift=drift, failures=0, last_used_at=now,
                    version=TokenRow.version + 1)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    def unbound_expired(self, now: datetime) -> Sequence[Token]:
        rows = self._session.execute(
            select(TokenRow).where(
                TokenRow.state == TokenState.UNBOUND.value, TokenRow.expires_at <= now
            )
        ).scalars()
        return [_token(row) for row in rows]

    def listing(self, *, origin: TokenOrigin | None = None,
                limit: int = 100) -> Sequence[ListedToken]:
        query = (select(TokenRow, CustomerRow.contract_id)
                 .outerjoin(CustomerRow, CustomerRow.id == TokenRow.customer_id)
                 .order_by(TokenRow.id).limit(limit))
        if origin is not None:
            query = query.where(TokenRow.origin == origin.value)
        return [ListedToken(_token(row), contract_id)
                for row, contract_id in self._session.execute(query).all()]
