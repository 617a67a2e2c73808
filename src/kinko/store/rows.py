"""SQLAlchemy 2.0 tables of kinko: customers, tokens, the audit trail and the IB ledger.

Column types behave the same on SQLite and PostgreSQL; migrations live in ``migrations/``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zones, so values are stored as naive UTC and tagged on the way out.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    login_password_hash: Mapped[str] = mapped_column(String(255))
    login_failures: Mapped[int] = mapped_column(Integer, default=0)
    login_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmation_password_hash: Mapped[str] = mapped_column(String(255))
    confirmation_failures: Mapped[int] = mapped_column(Integer, default=0)
    confirmation_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    login_otp_required: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffRow(Base):
    """A bank staff member of the console; signs in with a password and an own TOTP token."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    password_failures: Mapped[int] = mapped_column(Integer, default=0)
    password_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffRequestRow(Base):
    """A revoke or password unlock waiting for a second person (a different supervisor)."""

    __tablename__ = "staff_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    contract_id: Mapped[str] = mapped_column(String(10), index=True)
    serial: Mapped[str | None] = mapped_column(String(12))
    password_kind: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    #: Who asked: a staff member in the console, or a bank system's API client (exactly one).
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    requested_by_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "(requested_by_id IS NULL) <> (requested_by_client_id IS NULL)",
            name="one_requester",
        ),
    )


class ApiClientRow(Base):
    """A bank system that calls the JSON API with a bearer secret ``kk_<id>_<secret>``.

    Only the SHA-256 of the secret is stored (the secret is 32 random bytes, so a slow hash
    would add nothing); ``scopes`` is a space-separated list of ``ApiScope`` values.
    """

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TokenRow(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(12), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    #: Set for a staff member's own sign-in token.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), unique=True)
    origin: Mapped[str] = mapped_column(String(16))
    algorithm: Mapped[str] = mapped_column(String(8))
    digits: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)
    t0: Mapped[int] = mapped_column(BigInteger)
    # AES-256-GCM under the key ``seed_key_id``, the serial as associated data.
    seed_key_id: Mapped[str] = mapped_column(String(32))
    seed_nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    seed_ciphertext: Mapped[bytes] = mapped_column(LargeBinary(128))
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    drift: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped by every change of the row: a code check's outcome is written only to the
    #: version it was decided on (``SqlTokenRepository.settle``).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        # At most one bound token per contract, enforced by the database itself.
        Index(
            "uq_tokens_one_bound_per_customer",
            "customer_id",
            unique=True,
            sqlite_where=text("state IN ('active', 'locked', 'suspended')"),
            postgresql_where=text("state IN ('active', 'locked', 'suspended')"),
        ),
        Index("ix_tokens_state_expires_at", "state", "expires_at"),
    )


class AuditEventRow(Base):
    """One audit event, append-only. Services insert it with its MAC (``mac_key_id``,
    ``mac_nonce``, ``mac``: HMAC-SHA256 under a key the database does not hold) and with
    ``seq``, ``prev_hash`` and ``hash`` empty; the sealer (``kinko.store.audit_chain``)
    checks the MAC and fills those three exactly once, giving the event its place in the
    SHA-256 chain. Nothing else ever updates a row."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(80), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    contract_id: Mapped[str | None] = mapped_column(String(10), index=True)
    serial: Mapped[str | None] = mapped_column(String(12), index=True)
    reason: Mapped[str | None] = mapped_column(String(255))
    # The chain: position (1, 2, ...), the previous event's hash and this event's hash,
    # SHA-256 in lowercase hex. NULL until sealed.
    seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    # The writer's MAC, made in the INSERT itself: the keyring key id it was derived from,
    # 16 random bytes and the HMAC-SHA256, in lowercase hex. NULL only on events written
    # before MACs existed (migration 0010).
    mac_key_id: Mapped[str | None] = mapped_column(String(16))
    mac_nonce: Mapped[str | None] = mapped_column(String(32))
    mac: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("seq"),
        CheckConstraint(
            "(seq IS NULL AND prev_hash IS NULL AND hash IS NULL)"
            " OR (seq >= 1 AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
            name="sealed_all_or_nothing",
        ),
        CheckConstraint(
            "(mac_key_id IS NULL AND mac_nonce IS NULL AND mac IS NULL)"
            " OR (mac_key_id IS NOT NULL AND mac_nonce IS NOT NULL AND mac IS NOT NULL)",
            name="mac_all_or_nothing",
        ),
        # The sealer's "unsealed events in id order": only the few unsealed rows are in it.
        Index(
            "ix_audit_events_unsealed_id",
            "id",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
    )


class AuditChainHeadRow(Base):
    """The end of the audit chain (one row, id 1): the last sealed position and its hash.

    Only sealers lock and update it, so it never stands in the way of services writing
    events; it also tells ``verify`` where the chain must end, so deleting the newest
    events is detected too.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("last_seq >= 0", name="last_seq_not_negative"),
    )


class AccountRow(Base):
    """A deposit account of the IB's own ledger (``kinko.banking``); balances in yen."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    branch_code: Mapped[str] = mapped_column(String(3))
    branch_name: Mapped[str] = mapped_column(String(40))
    account_type: Mapped[str] = mapped_column(String(16))
    account_number: Mapped[str] = mapped_column(String(7))
    holder_kana: Mapped[str] = mapped_column(String(60))
    balance: Mapped[int] = mapped_column(BigInteger)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("branch_code", "account_type", "account_number"),)


class TransferRow(Base):
    """One 振込 (transfer) or 収納 (Pay-easy bill payment) the customer made; amounts in yen.

    ``request_key`` makes execution idempotent: a double submit finds the first row.
    """

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_number: Mapped[str] = mapped_column(String(12), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    from_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    # The payee of a transfer (NULL for a bill payment).
    payee_bank_code: Mapped[str | None] = mapped_column(String(4))
    payee_bank_name: Mapped[str | None] = mapped_column(String(40))
    payee_branch_code: Mapped[str | None] = mapped_column(String(3))
    payee_account_type: Mapped[str | None] = mapped_column(String(16))
    payee_account_number: Mapped[str | None] = mapped_column(String(7))
    payee_kana: Mapped[str | None] = mapped_column(String(60))
    # The bill of a bill payment (NULL for a transfer).
    biller_number: Mapped[str | None] = mapped_column(String(5))
    biller_name: Mapped[str | None] = mapped_column(String(40))
    customer_number: Mapped[str | None] = mapped_column(String(20))
    confirmation_number: Mapped[str | None] = mapped_column(String(16))
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('transfer', 'bill_payment')", name="kind"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
    )


class LedgerEntryRow(Base):
    """One line of an account's statement (入出金明細): signed yen and the balance after it.

    Entries of one account are written while its row is locked, so ``id`` order is the
    order in which the balance changed.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Serves "the newest entries of this account" and every lookup by account alone.
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
    )


class WebSessionRow(Base):
    """A browser session of the customer site or the console; the cookie's token is only
    stored as its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    realm: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RateLimitRow(Base):
    """One sliding-window counter (activations per address, logins per address or contract),
    shared by every server process: the current fixed window's count and the previous one's,
    from which ``kinko.domain.throttle`` estimates the count over the last window length."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)
    previous_count: Mapped[int] = mapped_column(Integer, server_default="0")


class OutboxRow(Base):
    """A customer e-mail notice, written in the transaction of the change it reports and
    delivered later by ``kinko.notify`` (the outbox pattern).

    ``next_attempt_at`` is when it is due: after a claim, the end of the claim's lease, so a
    worker that dies mid-delivery leaves it due again rather than lost.
    """

    __tablename__ = "notice_outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    contract_id: Mapped[str] = mapped_column(String(10), index=True)
    serial: Mapped[str | None] = mapped_column(String(12))
    # The lines a payment's notice adds (receipt number, amount, masked payee), one a line.
    facts: Mapped[str | None] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(100))
    message_key: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # Serves the worker's "oldest due pending notice" claim.
        Index("ix_notice_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )


class RegisteredPayeeRow(Base):
    """登録振込先: a payee the customer saved (``kinko.banking.payees``); one account once."""

    __tablename__ = "registered_payees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    bank_code: Mapped[str] = mapped_column(String(4))
    bank_name: Mapped[str] = mapped_column(String(40))
    branch_code: Mapped[str] = mapped_column(String(3))
    account_type: Mapped[str] = mapped_column(String(16))
    account_number: Mapped[str] = mapped_column(String(7))
    kana: Mapped[str] = mapped_column(String(60))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Named: the convention's name (every column) passes PostgreSQL's 63 characters.
    __table_args__ = (UniqueConstraint("customer_id", "bank_code", "branch_code",
                                       "account_type", "account_number",
                                       name="uq_registered_payees_account"),)


class TransferLimitRow(Base):
    """A customer's daily transfer limit (振込限度額) once changed; no row means the default.

    The booking of a transfer claims this row (an UPDATE) before it counts the day's
    transfers, so a customer's transfers are checked one after the other.
    """

    __tablename__ = "transfer_limits"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    daily_limit: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("daily_limit >= 0", name="daily_limit_not_negative"),)
