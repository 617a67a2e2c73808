"""SQL implementations of the service ports, and the unit of work that holds them.

Replay and lockout decisions are single conditional UPDATE statements, atomic on SQLite
(one writer at a time) and on PostgreSQL (row lock, WHERE re-checked after the wait).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Executable,
    Row,
    String,
    and_,
    bindparam,
    case,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, MultipleResultsFound
from sqlalchemy.orm import Session, sessionmaker

from kinko.domain.errors import Conflict
from kinko.domain.events import Action, AuditEvent, Channel, Outcome
from kinko.domain.lifecycle import BOUND_STATES, TokenState
from kinko.domain.model import Customer, PasswordKind, PasswordState, Token, TokenOrigin
from kinko.domain.notices import Notice, NoticeKind, NoticeStatus, QueuedNotice
from kinko.domain.otp import Algorithm, TotpParameters
from kinko.domain.secrets import Seed
from kinko.domain.throttle import WindowCounts
from kinko.lru import Lru
from kinko.services.ports import KnownToken, NewCustomer, NewToken
from kinko.store.api_clients import SqlApiClientRepository
from kinko.store.audit_chain import (
    AuditFilter,
    MacKeys,
    StoredAuditEvent,
    filtered_events,
    mac_values,
    stored_event,
)
from kinko.store.password_counters import SqlPasswordCounter
from kinko.store.rows import (
    AuditEventRow,
    Base,
    CustomerRow,
    OutboxRow,
    RateLimitRow,
    TokenRow,
    UTCDateTime,
)
from kinko.store.seedbox import SealedSeed, SeedBox
from kinko.store.staff_store import SqlRequestRepository, SqlStaffRepository

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
    )


def _customer(row: CustomerRow | Row[Any]) -> Customer:
    return Customer(
        id=row.id,
        contract_id=row.contract_id,
        name=row.name,
        email=row.email,
        login_password=PasswordState(
            row.login_password_hash, row.login_failures, row.login_locked_at
        ),
        confirmation_password=PasswordState(
            row.confirmation_password_hash, row.confirmation_failures, row.confirmation_locked_at
        ),
        login_otp_required=row.login_otp_required,
        created_at=row.created_at,
    )


class TokenCache:
    """What this process last read of recently checked tokens, opened seeds included: a
    bounded LRU, shared by the threads of one process (``SqlUnitOfWorkFactory`` holds it).

    It saves the AES-GCM opening and, for a token checked here before, the read itself:
    ``verify_code`` can then spend the step in one conditional statement that re-checks
    every fact the entry claims (state, sealed seed, drift, last step), so a stale entry
    costs a fallback, never a wrong answer. Entries are keyed by token id and carry the
    serial, key id and nonce the seed was opened from; a reseal under a new key changes
    the nonce and so the entry is simply not used again. Opened seeds stay in this
    process's memory while cached, as they already do while a request checks a code.
    """

    def __init__(self, size: int = 65_536) -> None:
        self._entries: Lru[int, KnownToken] = Lru(size)

    def get(self, token_id: int) -> KnownToken | None:
        return self._entries.get(token_id)

    def put(self, entry: KnownToken) -> None:
        self._entries.put(entry.id, entry)

    def __len__(self) -> int:
        return len(self._entries)


_TOKENS = Base.metadata.tables[TokenRow.__tablename__]
_CUSTOMERS = Base.metadata.tables[CustomerRow.__tablename__]
_AUDIT = Base.metadata.tables[AuditEventRow.__tablename__]
_AUDIT_FIELDS = ("occurred_at", "action", "outcome", "actor", "channel", "contract_id",
                 "serial", "reason", "mac_key_id", "mac_nonce", "mac")


def _spend_update() -> Executable:
    """``spend_step`` with every fact of the check it settles (see ``SqlTokenRepository.spend``)."""
    now = bindparam("now", type_=UTCDateTime())
    return (
        update(_TOKENS)
        .where(and_(
            _TOKENS.c.id == bindparam("token_id"),
            _TOKENS.c.state.in_(bindparam("states", expanding=True)),
            or_(_TOKENS.c.state != TokenState.UNBOUND.value,
                _TOKENS.c.expires_at.is_(None), _TOKENS.c.expires_at > now),
            _TOKENS.c.seed_key_id == bindparam("key_id"),
            _TOKENS.c.seed_nonce == bindparam("nonce"),
            or_(_TOKENS.c.last_step.is_(None), _TOKENS.c.last_step < bindparam("step")),
            _TOKENS.c.drift.between(bindparam("drift_low"), bindparam("drift_high")),
        ))
        .values(last_step=bindparam("step"), drift=bindparam("new_drift"), failures=0,
                last_used_at=now)
        .returning(_TOKENS.c.serial)
    )


def _spend_and_record() -> Executable:
    """PostgreSQL: the spend and its audit event as one statement (a data-modifying CTE);
    the event row exists if and only if the step was spent. Every column of the event,
    its MAC included, is a bound value computed before the statement."""
    spent = _spend_update().cte("spent")  # type: ignore[attr-defined]
    values = [bindparam(f"audit_{name}", type_=UTCDateTime() if name == "occurred_at"
                        else String()) for name in _AUDIT_FIELDS]
    return (
        insert(_AUDIT)
        .from_select(list(_AUDIT_FIELDS), select(*values).select_from(spent))
        .returning(_AUDIT.c.id)
    )


def _for_check() -> Executable:
    return select(_TOKENS).where(_TOKENS.c.id == bindparam("token_id")).with_for_update()


def _read(session: Session, statement: Executable) -> Row[Any] | None:
    """At most one row of a plain (Core) SELECT: no ORM objects are built for a read that
    only becomes a domain value. Flushes first, as an ORM query would (autoflush)."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    rows = session.connection().execute(statement).all()
    if len(rows) > 1:
        raise MultipleResultsFound("expected at most one row")
    return rows[0] if rows else None


def _active_of(wanted: ColumnElement[bool]) -> Executable:
    """The active token (row and sealed seed) with its customer's contract ID."""
    joined = _TOKENS.join(_CUSTOMERS, _CUSTOMERS.c.id == _TOKENS.c.customer_id)
    return (select(_TOKENS, _CUSTOMERS.c.contract_id).select_from(joined)
            .where(wanted, _TOKENS.c.state == TokenState.ACTIVE.value))


def _active_of_contract() -> Executable:
    return _active_of(_CUSTOMERS.c.contract_id == bindparam("contract_id"))


def _active_of_serial() -> Executable:
    return _active_of(_TOKENS.c.serial == bindparam("serial"))


_STATEMENTS: dict[str, Executable] = {}


def _statement(name: str) -> Executable:
    # Built once per process (SQLAlchemy then caches the compiled SQL per dialect).
    statement = _STATEMENTS.get(name)
    if statement is None:
        statement = {"for_check": _for_check, "spend": _spend_update,
                     "spend_and_record": _spend_and_record,
                     "active_of_contract": _active_of_contract,
                     "active_of_serial": _active_of_serial}[name]()
        _STATEMENTS[name] = statement
    return statement


class SqlTokenRepository:
    def __init__(self, session: Session, seedbox: SeedBox,
                 cache: TokenCache | None = None) -> None:
        self._session = session
        self._seedbox = seedbox
        self._cache = cache if cache is not None else TokenCache(size=1)
        #: Whether the unit of work has done nothing but ``active_of`` (see ``spend``).
        self._read_alone = False

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
        row = _read(self._session, select(_TOKENS).where(_TOKENS.c.id == token_id))
        return _token(row) if row else None

    def by_serial(self, serial: str) -> Token | None:
        row = _read(self._session, select(_TOKENS).where(_TOKENS.c.serial == serial))
        return _token(row) if row else None

    def serial_exists(self, serial: str) -> bool:
        return self._session.execute(
            select(TokenRow.id).where(TokenRow.serial == serial)
        ).first() is not None

    def bound_to(self, customer_id: int) -> Token | None:
        row = _read(self._session, select(_TOKENS).where(
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

    def for_check(self, token_id: int) -> tuple[Token, KnownToken] | None:
        """The token and its opened seed in one read, its row locked until the end of the
        transaction (PostgreSQL; SQLite's writers are serialised already), so nothing the
        check decides on can change before its outcome is written."""
        row = self._session.connection().execute(
            _statement("for_check"), {"token_id": token_id}).first()
        if row is None:
            return None
        return _token(row), self._remember(row)

    def known(self, token_id: int) -> KnownToken | None:
        return self._cache.get(token_id)

    def active_of(self, *, contract_id: str | None = None,
                  serial: str | None = None) -> tuple[KnownToken, str] | None:
        if (contract_id is None) == (serial is None):
            raise ValueError("give either contract_id or serial")
        statement = _statement("active_of_contract" if contract_id is not None
                               else "active_of_serial")
        # On PostgreSQL outside a transaction, as its own: a later spend(alone=True) then
        # still commits by itself (SQLite begins its one transaction here instead).
        postgresql = self._session.get_bind().dialect.name == "postgresql"
        fresh = not self._session.in_transaction()
        connection = self._session.connection(
            execution_options={"isolation_level": "AUTOCOMMIT"} if fresh and postgresql
            else None)
        row = connection.execute(statement, {"contract_id": contract_id,
                                             "serial": serial}).first()
        self._read_alone = fresh
        if row is None:
            return None
        return self._remember(row), row.contract_id

    def _remember(self, row: Row[Any]) -> KnownToken:
        """The opened seed of a just-read token row (from memory while its sealed form is
        unchanged), remembered for ``known``."""
        cached = self._cache.get(row.id)
        if (cached is not None and cached.serial == row.serial
                and cached.key_id == row.seed_key_id and cached.nonce == row.seed_nonce):
            seed = cached.seed
        else:
            seed = self._seedbox.open(
                row.serial, SealedSeed(row.seed_key_id, row.seed_nonce, row.seed_ciphertext))
        known = KnownToken(id=row.id, serial=row.serial, params=_params(row), seed=seed,
                           key_id=row.seed_key_id, nonce=row.seed_nonce, drift=row.drift)
        self._cache.put(known)
        return known

    def spend(
        self, token: KnownToken, *, step: int, current_step: int, window: int,
        states: Collection[TokenState], now: datetime, event: AuditEvent, alone: bool = False,
    ) -> bool:
        params = {
            "token_id": token.id, "states": [s.value for s in states], "now": now,
            "key_id": token.key_id, "nonce": token.nonce, "step": step,
            "new_drift": step - current_step,
            # |step - (current + drift)| <= window, solved for the stored drift.
            "drift_low": step - current_step - window,
            "drift_high": step - current_step + window,
        }
        if alone and self._session.in_transaction() and not self._read_alone:
            raise RuntimeError("spend(alone=True) must be the unit of work's first statement")
        postgresql = self._session.get_bind().dialect.name == "postgresql"
        # Alone on PostgreSQL, the one statement is its own transaction: no BEGIN, no COMMIT,
        # one round trip; it is atomic and durable all the same. (The pool resets the
        # connection's isolation level when the session gives it back.)
        connection = self._session.connection(
            execution_options={"isolation_level": "AUTOCOMMIT"}
            if alone and postgresql and not self._session.in_transaction() else None)
        if postgresql:
            params |= {f"audit_{name}": value
                       for name, value in _audit_values(event, self._seedbox).items()}
            spent = connection.execute(_statement("spend_and_record"), params).first()
        else:
            spent = connection.execute(_statement("spend"), params).first()
            if spent is not None:
                SqlAuditLog(self._session, self._seedbox).record(event)
        if spent is None:
            return False
        self._cache.put(KnownToken(id=token.id, serial=token.serial, params=token.params,
                                   seed=token.seed, key_id=token.key_id, nonce=token.nonce,
                                   drift=step - current_step))
        return True

    def spend_step(
        self, token_id: int, *, step: int, drift: int, states: Collection[TokenState],
        now: datetime,
    ) -> bool:
        result = self._session.execute(
            update(TokenRow)
            .where(
                TokenRow.id == token_id,
                TokenRow.state.in_([s.value for s in states]),
                or_(TokenRow.last_step.is_(None), TokenRow.last_step < step),
            )
            .values(last_step=step, drift=drift, failures=0, last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def record_failure(
        self, token_id: int, *, state: TokenState, limit: int, limit_state: TokenState,
        now: datetime,
    ) -> tuple[int, TokenState] | None:
        reaches_limit = TokenRow.failures + 1 >= limit
        row = self._session.execute(
            update(TokenRow)
            .where(TokenRow.id == token_id, TokenRow.state == state.value)
            .values(
                failures=TokenRow.failures + 1,
                state=case((reaches_limit, limit_state.value), else_=TokenRow.state),
                state_changed_at=case((reaches_limit, now), else_=TokenRow.state_changed_at),
            )
            .returning(TokenRow.failures, TokenRow.state)
            .execution_options(synchronize_session=False)
        ).first()
        return None if row is None else (row[0], TokenState(row[1]))

    def change_state(
        self, token_id: int, *, from_states: Collection[TokenState], to_state: TokenState,
        now: datetime, customer_id: int | None = None, staff_id: int | None = None,
        reset_failures: bool = False,
    ) -> bool:
        values: dict[str, object] = {"state": to_state.value, "state_changed_at": now}
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
        return _rowcount(result) == 1

    def set_sync(self, token_id: int, *, last_step: int, drift: int, now: datetime) -> bool:
        result = self._session.execute(
            update(TokenRow)
            .where(TokenRow.id == token_id,
                   or_(TokenRow.last_step.is_(None), TokenRow.last_step < last_step))
            .values(last_step=last_step, drift=drift, failures=0, last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def unbound_expired(self, now: datetime) -> Sequence[Token]:
        rows = self._session.execute(
            select(TokenRow).where(
                TokenRow.state == TokenState.UNBOUND.value, TokenRow.expires_at <= now
            )
        ).scalars()
        return [_token(row) for row in rows]


_PASSWORD_COLUMNS = {
    PasswordKind.LOGIN: ("login_password_hash", "login_failures", "login_locked_at"),
    PasswordKind.CONFIRMATION: (
        "confirmation_password_hash", "confirmation_failures", "confirmation_locked_at",
    ),
}


class SqlCustomerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, new: NewCustomer) -> Customer:
        row = CustomerRow(
            contract_id=new.contract_id,
            name=new.name,
            email=new.email,
            login_password_hash=new.login_password_hash,
            login_failures=0,
            confirmation_password_hash=new.confirmation_password_hash,
            confirmation_failures=0,
            login_otp_required=False,
            created_at=new.created_at,
        )
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError:
            raise Conflict(f"contract ID {new.contract_id} already exists") from None
        return _customer(row)

    def get(self, customer_id: int) -> Customer | None:
        row = _read(self._session, select(_CUSTOMERS).where(_CUSTOMERS.c.id == customer_id))
        return _customer(row) if row else None

    def by_contract_id(self, contract_id: str) -> Customer | None:
        row = _read(self._session,
                    select(_CUSTOMERS).where(_CUSTOMERS.c.contract_id == contract_id))
        return _customer(row) if row else None

    def password_counter(self, customer_id: int, kind: PasswordKind) -> SqlPasswordCounter:
        _, failures_name, locked_name = _PASSWORD_COLUMNS[kind]
        return SqlPasswordCounter(self._session, CustomerRow, customer_id,
                                  failures=getattr(CustomerRow, failures_name),
                                  locked_at=getattr(CustomerRow, locked_name))

    def unlock_password(self, customer_id: int, kind: PasswordKind) -> bool:
        _, failures_name, locked_name = _PASSWORD_COLUMNS[kind]
        result = self._session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == customer_id, getattr(CustomerRow, locked_name).is_not(None))
            .values({failures_name: 0, locked_name: None})
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def set_password_hash(self, customer_id: int, kind: PasswordKind, new_hash: str) -> None:
        hash_name, _, _ = _PASSWORD_COLUMNS[kind]
        self._session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id)
            .values({hash_name: new_hash}).execution_options(synchronize_session=False)
        )

    def set_login_otp_required(self, customer_id: int, required: bool) -> None:
        self._session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id)
            .values(login_otp_required=required).execution_options(synchronize_session=False)
        )


def _audit_values(event: AuditEvent, keys: MacKeys) -> dict[str, object]:
    """The row of ``event`` with its MAC (``kinko.store.audit_chain``), made here, by the
    writer, so that the row never exists without it."""
    values: dict[str, object] = {
        "occurred_at": event.occurred_at,
        "action": event.action.value,
        "outcome": event.outcome.value,
        "actor": event.actor,
        "channel": event.channel.value,
        "contract_id": event.contract_id,
        "serial": event.serial,
        "reason": event.reason,
    }
    return values | mac_values(keys, values)


class SqlAuditLog:
    def __init__(self, session: Session, keys: MacKeys) -> None:
        self._session = session
        self._keys = keys

    def record(self, event: AuditEvent) -> None:
        self._session.connection().execute(insert(_AUDIT), _audit_values(event, self._keys))

    def recent(
        self, *, limit: int = 50, contract_id: str | None = None, serial: str | None = None
    ) -> Sequence[AuditEvent]:
        query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
        if contract_id is not None:
            query = query.where(AuditEventRow.contract_id == contract_id)
        if serial is not None:
            query = query.where(AuditEventRow.serial == serial)
        return [
            AuditEvent(
                occurred_at=row.occurred_at,
                action=Action(row.action),
                outcome=Outcome(row.outcome),
                actor=row.actor,
                channel=Channel(row.channel),
                contract_id=row.contract_id,
                serial=row.serial,
                reason=row.reason,
            )
            for row in self._session.execute(query).scalars()
        ]

    def search(
        self,
        *,
        contract_id: str | None = None,
        serial: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> Sequence[StoredAuditEvent]:
        """Events matching every given filter, newest first, at most ``limit``.

        The next page is ``before_id=page[-1].id``. ``action`` ending in ``:`` matches a
        family (``token:``); ``since`` is inclusive, ``until`` exclusive. The events are
        ``StoredAuditEvent``s: domain events that also carry their id and chain position.
        """
        filters = AuditFilter(contract_id=contract_id, serial=serial, actor=actor,
                              action=action, since=since, until=until)
        query = filtered_events(filters, before_id=before_id).limit(limit)
        return [stored_event(row) for row in self._session.execute(query)]


class SqlRateLimits:
    def __init__(self, session: Session) -> None:
        self._session = session

    def hit(self, key: str, *, window_start: datetime, window: timedelta) -> WindowCounts:
        # One upsert: a new key starts at 1; the same window counts up; the next window starts
        # at 1 and keeps this one's count as the previous; a later window forgets both. Both
        # dialects support ON CONFLICT ... RETURNING.
        dialect = self._session.get_bind().dialect.name
        insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert_(RateLimitRow).values(
            key=key, window_start=window_start, count=1, previous_count=0)
        same_window = RateLimitRow.window_start == statement.excluded.window_start
        next_window = RateLimitRow.window_start == window_start - window
        upsert = statement.on_conflict_do_update(
            index_elements=[RateLimitRow.key],
            set_={
                "count": case((same_window, RateLimitRow.count + 1), else_=1),
                "previous_count": case(
                    (same_window, RateLimitRow.previous_count),
                    (next_window, RateLimitRow.count),
                    else_=0,
                ),
                "window_start": statement.excluded.window_start,
            },
        ).returning(RateLimitRow.count, RateLimitRow.previous_count)
        current, previous = self._session.execute(upsert).one()
        return WindowCounts(window_start, int(current), int(previous))


def _queued(row: OutboxRow) -> QueuedNotice:
    return QueuedNotice(
        id=row.id,
        notice=Notice(NoticeKind(row.kind), row.occurred_at, row.contract_id, row.serial),
        recipient=row.recipient,
        recipient_name=row.recipient_name,
        message_key=row.message_key,
        status=NoticeStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease=row.lease,
        last_error=row.last_error,
        sent_at=row.sent_at,
        failed_at=row.failed_at,
    )


class SqlOutbox:
    """The notice outbox. A claim is one UPDATE of the oldest due row: PostgreSQL skips rows
    another claimer has locked; SQLite lets one writer at a time in (BEGIN IMMEDIATE)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def enqueue(self, notice: Notice, *, recipient: str, recipient_name: str) -> None:
        self._session.execute(insert(OutboxRow).values(
            kind=notice.kind.value,
            occurred_at=notice.occurred_at,
            contract_id=notice.contract_id,
            serial=notice.serial,
            recipient=recipient,
            recipient_name=recipient_name,
            message_key=secrets.token_hex(16),
            status=NoticeStatus.PENDING.value,
            attempts=0,
            next_attempt_at=notice.occurred_at,
        ))

    def claim_due(self, *, now: datetime, lease_until: datetime) -> QueuedNotice | None:
        oldest_due = (
            select(OutboxRow.id)
            .where(OutboxRow.status == NoticeStatus.PENDING.value,
                   OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(1)
            .with_for_update(skip_locked=True)  # rendered on PostgreSQL, ignored by SQLite
            .scalar_subquery()
        )
        claimed = self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == oldest_due)
            .values(attempts=OutboxRow.attempts + 1, next_attempt_at=lease_until,
                    lease=secrets.token_hex(16))
            .returning(OutboxRow.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        return None if claimed is None else self._get(claimed)

    def mark_sent(self, notice_id: int, *, now: datetime) -> bool:
        result = self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == notice_id, OutboxRow.status == NoticeStatus.PENDING.value)
            .values(status=NoticeStatus.SENT.value, sent_at=now, lease=None)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def mark_retry(
        self, notice_id: int, *, lease: str, next_attempt_at: datetime, error: str
    ) -> bool:
        return self._settle(notice_id, lease, {"next_attempt_at": next_attempt_at,
                                               "last_error": error[:255]})

    def mark_failed(self, notice_id: int, *, lease: str, now: datetime, error: str) -> bool:
        return self._settle(notice_id, lease, {"status": NoticeStatus.FAILED.value,
                                               "failed_at": now, "last_error": error[:255]})

    def listing(
        self, *, status: NoticeStatus | None = None, contract_id: str | None = None,
        limit: int = 50,
    ) -> Sequence[QueuedNotice]:
        query = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
        if status is not None:
            query = query.where(OutboxRow.status == status.value)
        if contract_id is not None:
            query = query.where(OutboxRow.contract_id == contract_id)
        query = query.execution_options(populate_existing=True)
        return [_queued(row) for row in self._session.execute(query).scalars()]

    def _get(self, notice_id: int) -> QueuedNotice:
        row = self._session.execute(
            select(OutboxRow).where(OutboxRow.id == notice_id)
            .execution_options(populate_existing=True)
        ).scalar_one()
        return _queued(row)

    def _settle(self, notice_id: int, lease: str, values: dict[str, object]) -> bool:
        """Record an attempt's failure, only if ``lease`` still holds the notice."""
        result = self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == notice_id, OutboxRow.lease == lease,
                   OutboxRow.status == NoticeStatus.PENDING.value)
            .values(values | {"lease": None})
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1


def _rowcount(result: object) -> int:
    count = getattr(result, "rowcount", 0)
    return int(count)


class SqlUnitOfWork:
    """One database transaction; rolled back on exit unless ``commit()`` was called."""

    tokens: SqlTokenRepository
    customers: SqlCustomerRepository
    audit: SqlAuditLog
    rate_limits: SqlRateLimits
    outbox: SqlOutbox
    staff: SqlStaffRepository
    requests: SqlRequestRepository
    api_clients: SqlApiClientRepository

    def __init__(self, sessions: sessionmaker[Session], seedbox: SeedBox,
                 token_cache: TokenCache | None = None) -> None:
        self._sessions = sessions
        self._seedbox = seedbox
        self._token_cache = token_cache

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._sessions()
        self.tokens = SqlTokenRepository(self.session, self._seedbox, self._token_cache)
        self.customers = SqlCustomerRepository(self.session)
        self.audit = SqlAuditLog(self.session, self._seedbox)
        self.rate_limits = SqlRateLimits(self.session)
        self.outbox = SqlOutbox(self.session)
        self.staff = SqlStaffRepository(self.session)
        self.requests = SqlRequestRepository(self.session)
        self.api_clients = SqlApiClientRepository(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine, seedbox: SeedBox) -> None:
        self.engine = engine
        self.seedbox = seedbox
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        #: One per process (per factory): what verifications read, for the next ones.
        self.token_cache = TokenCache()

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self.seedbox, self.token_cache)
