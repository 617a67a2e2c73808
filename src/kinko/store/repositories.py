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
    Engine,
    Executable,
    Result,
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
from kinko.domain.verification import Accept, Decision
from kinko.lru import Lru
from kinko.services.ports import NewCustomer, NewToken, TokenRef, Verifiable
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
        version=row.version,
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
_AUDIT = Base.metadata.tables[AuditEventRow.__tablename__]
_AUDIT_FIELDS = ("occurred_at", "action", "outcome", "actor", "channel", "contract_id",
                 "serial", "reason", "mac_key_id", "mac_nonce", "mac")


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
                        else String()) for name in _AUDIT_FIELDS]
    return (
        insert(_AUDIT)
        .from_select(list(_AUDIT_FIELDS), select(*values).select_from(settled))
        .returning(_AUDIT.c.id)
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


def _execute(session: Session, statement: Executable,
             parameters: dict[str, Any]) -> Result[Any]:
    """A plain (Core) statement on the session's connection, after a flush."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, parameters)


def _read(session: Session, statement: Executable,
          parameters: dict[str, Any] | None = None) -> Row[Any] | None:
    """At most one row of a plain (Core) SELECT: no ORM objects are built for a read that
    only becomes a domain value. Flushes first, as an ORM query would (autoflush)."""
    rows = _execute(session, statement, parameters or {}).all()
    if len(rows) > 1:
        raise MultipleResultsFound("expected at most one row")
    return rows[0] if rows else None


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

    def for_verification(self, ref: TokenRef) -> Verifiable | None:
        by, parameters = (
            ("id", {"token_id": ref.token_id}) if ref.token_id is not None
            else ("contract", {"contract_id": ref.contract_id}) if ref.contract_id is not None
            else ("serial", {"serial": ref.serial}))
        row = _read(self._session, _statement("read", by), parameters)
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
                           for name, value in _audit_values(event, self._seedbox).items()}
            settled = _execute(self._session, _statement("settle_and_record", shape),
                               parameters).first()
            return settled is not None
        settled = _execute(self._session, _statement("settle", shape), parameters).first()
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
        return _rowcount(result) == 1

    def set_sync(self, token_id: int, *, last_step: int, drift: int, now: datetime) -> bool:
        result = self._session.execute(
            update(TokenRow)
            .where(TokenRow.id == token_id,
                   or_(TokenRow.last_step.is_(None), TokenRow.last_step < last_step))
            .values(last_step=last_step, drift=drift, failures=0, last_used_at=now,
                    version=TokenRow.version + 1)
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
                 seeds: OpenedSeeds | None = None) -> None:
        self._sessions = sessions
        self._seedbox = seedbox
        self._seeds = seeds

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._sessions()
        self.tokens = SqlTokenRepository(self.session, self._seedbox, self._seeds)
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
    """Units of work on one engine. ``single_statements=True`` asks for one whose every
    statement is its own transaction where the database allows it (PostgreSQL: autocommit,
    no BEGIN or COMMIT round trips), for a use case whose writes are each one atomic
    statement; SQLite, embedded and with one writer at a time, keeps one transaction."""

    def __init__(self, engine: Engine, seedbox: SeedBox) -> None:
        self.engine = engine
        self.seedbox = seedbox
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        autocommit = (engine.execution_options(isolation_level="AUTOCOMMIT")
                      if engine.dialect.name == "postgresql" else engine)
        self._single_statement_sessions = sessionmaker(autocommit, expire_on_commit=False)
        #: One per process (per factory): seeds opened for verifications.
        self.opened_seeds = OpenedSeeds(seedbox)

    def __call__(self, *, single_statements: bool = False) -> SqlUnitOfWork:
        sessions = self._single_statement_sessions if single_statements else self._sessions
        return SqlUnitOfWork(sessions, self.seedbox, self.opened_seeds)
