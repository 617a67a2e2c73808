"""Customer e-mail notices: which audit events tell the customer, and the Japanese text.

Pure: the outbox stores a ``Notice`` with the change; the delivery worker composes the mail.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from kinko.domain.events import API_ACTOR_PREFIX, Action, AuditEvent, Outcome
from kinko.domain.masking import mask_serial
from kinko.domain.model import PasswordKind

#: Japan Standard Time has no daylight saving time, so a fixed offset is exact.
JST = timezone(timedelta(hours=9), "JST")

#: The reason ``exchange`` gives the TOKEN_BOUND event of the new token; the exchange is
#: told once, by its TOKEN_EXCHANGED event, not a second time as a 利用開始.
EXCHANGE_BIND_REASON = "exchange"

#: Every notice ends with this request (the guide's wording for unexpected changes).
UNEXPECTED_CHANGE = "お心当たりのない場合は、当金庫までご連絡ください。"


class NoticeKind(enum.StrEnum):
    """One kind of e-mail. The values (the lower-cased names) are stored in the outbox:
    never rename a member."""

    REGISTERED = enum.auto()                   # 利用開始
    EXCHANGED = enum.auto()                    # 交換
    STOPPED = enum.auto()                      # 利用中止
    TOKEN_LOCKED = enum.auto()                 # too many wrong codes
    LOGIN_PASSWORD_LOCKED = enum.auto()
    CONFIRMATION_PASSWORD_LOCKED = enum.auto()
    PASSWORD_LOCKED = enum.auto()              # a password whose kind was not recorded
    SUSPENDED = enum.auto()                    # staff: 一時停止 (e.g. phone reported lost)
    RESUMED = enum.auto()                      # staff: 利用再開
    REVOKED = enum.auto()                      # staff: 失効
    TOKEN_UNLOCKED = enum.auto()               # staff
    LOGIN_PASSWORD_UNLOCKED = enum.auto()
    CONFIRMATION_PASSWORD_UNLOCKED = enum.auto()
    PASSWORD_UNLOCKED = enum.auto()
    RESYNCED = enum.auto()                     # staff: 時刻補正
    TRANSFER_ACCEPTED = enum.auto()            # a 振込 was booked (services.payments)
    BILL_PAYMENT_ACCEPTED = enum.auto()        # a 収納 (Pay-easy) payment was booked
    TRANSFER_LIMIT_CHANGED = enum.auto()       # the customer changed 振込限度額


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) delivery attempt, or being delivered
    SENT = "sent"        # the mail server accepted it
    FAILED = "failed"    # given up; shown to staff


@dataclass(frozen=True)
class Notice:
    """What one customer is told about one change: facts only, never a secret.

    ``facts`` are extra lines ("受付番号：T261202…") for the notices of payments, already
    masked where they name an account."""

    kind: NoticeKind
    occurred_at: datetime
    contract_id: str
    serial: str | None = None
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueuedNotice:
    """A notice in the outbox, with its delivery state."""

    id: int
    notice: Notice
    recipient: str
    recipient_name: str
    #: Stable across retries, so a receiver can recognise a redelivered duplicate.
    message_key: str
    status: NoticeStatus
    attempts: int
    next_attempt_at: datetime
    #: The claim of the worker delivering it now (expires at ``next_attempt_at``).
    lease: str | None
    last_error: str | None
    sent_at: datetime | None
    failed_at: datetime | None


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


@dataclass(frozen=True)
class RetryPolicy:
    """How delivery retries: attempts, exponential backoff and the claim lease."""

    max_attempts: int = 10
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)
    #: How long a worker may take to deliver a claimed notice before another may retry it.
    lease: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.first_delay <= timedelta(0) or self.max_delay < self.first_delay:
            raise ValueError("retry delays must be positive and first_delay <= max_delay")
        if self.lease <= timedelta(0):
            raise ValueError("the lease must be positive")

    def gives_up(self, attempts: int) -> bool:
        """True when ``attempts`` failed attempts are all there will be."""
        return attempts >= self.max_attempts

    def delay_after(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt: 1, 2, 4 … minutes, capped."""
        doubling = min(max(attempts - 1, 0), 30)
        delay: timedelta = self.first_delay * (2**doubling)
        return min(delay, self.max_delay)


_CUSTOMER_CHANGES = {
    Action.TOKEN_BOUND: NoticeKind.REGISTERED,
    Action.TOKEN_EXCHANGED: NoticeKind.EXCHANGED,
    Action.TOKEN_STOPPED: NoticeKind.STOPPED,
    Action.TOKEN_LOCKED: NoticeKind.TOKEN_LOCKED,
}

_STAFF_ACTIONS = {
    Action.TOKEN_SUSPENDED: NoticeKind.SUSPENDED,
    Action.TOKEN_RESUMED: NoticeKind.RESUMED,
    Action.TOKEN_REVOKED: NoticeKind.REVOKED,
    Action.TOKEN_UNLOCKED: NoticeKind.TOKEN_UNLOCKED,
    Action.TOKEN_RESYNCED: NoticeKind.RESYNCED,
}

_PASSWORD_LOCKS = {
    PasswordKind.LOGIN: NoticeKind.LOGIN_PASSWORD_LOCKED,
    PasswordKind.CONFIRMATION: NoticeKind.CONFIRMATION_PASSWORD_LOCKED,
}

_PASSWORD_UNLOCKS = {
    PasswordKind.LOGIN: NoticeKind.LOGIN_PASSWORD_UNLOCKED,
    PasswordKind.CONFIRMATION: NoticeKind.CONFIRMATION_PASSWORD_UNLOCKED,
}

STAFF_ACTOR_PREFIX = "staff:"
#: The bank acts on a customer's token through the staff console or, for a call centre's
#: system, through the JSON API; either way the customer is told.
BANK_ACTOR_PREFIXES = (STAFF_ACTOR_PREFIX, API_ACTOR_PREFIX)


def notice_for(event: AuditEvent) -> Notice | None:
    """The notice an audit event sends to its contract's customer, or None.

    Notified: 利用開始, 交換, 利用中止, a token or password lock, and every successful bank
    action (staff console or call-centre API) on a customer's token or password. Failures,
    checks and logins are not.
    """
    if event.outcome is not Outcome.SUCCESS or event.contract_id is None:
        return None
    kind = _kind(event)
    if kind is None:
        return None
    return Notice(kind, event.occurred_at, event.contract_id, event.serial)


def _kind(event: AuditEvent) -> NoticeKind | None:
    action = event.action
    if action is Action.TOKEN_BOUND and event.reason == EXCHANGE_BIND_REASON:
        return None
    if action in _CUSTOMER_CHANGES:
        return _CUSTOMER_CHANGES[action]
    if action is Action.PASSWORD_LOCKED:
        # credentials records the password kind as the reason: "login" / "confirmation"
        return _by_password(_PASSWORD_LOCKS, event.reason, NoticeKind.PASSWORD_LOCKED)
    if not event.actor.startswith(BANK_ACTOR_PREFIXES):
        return None
    if action is Action.PASSWORD_UNLOCKED:
        # staff records "<kind>:<reason>"
        return _by_password(_PASSWORD_UNLOCKS, event.reason, NoticeKind.PASSWORD_UNLOCKED)
    return _STAFF_ACTIONS.get(action)


def _by_password(
    kinds: dict[PasswordKind, NoticeKind], reason: str | None, unknown: NoticeKind
) -> NoticeKind:
    head = (reason or "").partition(":")[0]
    try:
        return kinds[PasswordKind(head)]
    except (ValueError, KeyError):
        return unknown


# --- the text --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    title: str
    lines: tuple[str, ...]
    serial_label: str = "シリアル番号"


_OTP = "ワンタイムパスワード"
_ASK_BANK_TO_UNLOCK = "ロックの解除をご希望の場合は、当金庫までお問い合わせください。"
_BACK_TO_CONFIRMATION = "今後のお振込みなどのお取引には、確認用パスワードをご利用ください。"


def _locked(name: str) -> _Text:
    return _Text(f"{name}のロックのお知らせ", (
        f"{name}の誤入力が所定の回数に達したため、{name}をロックしました。",
        _ASK_BANK_TO_UNLOCK,
    ))


def _unlocked(name: str) -> _Text:
    return _Text(f"{name}のロック解除のお知らせ", (
        f"当金庫にて、{name}のロックを解除しました。",
    ))


_TEXTS: dict[NoticeKind, _Text] = {
    NoticeKind.REGISTERED: _Text(f"{_OTP}の利用開始のお知らせ", (
        f"{_OTP}（ソフトウェアトークン）の利用開始のお手続きが完了しました。",
        f"今後のお振込みなどのお取引には、{_OTP}が必要です。",
    )),
    NoticeKind.EXCHANGED: _Text(f"{_OTP}のトークン交換のお知らせ", (
        "ソフトウェアトークンの交換のお手続きが完了しました。",
        "これまでのトークンはご利用いただけなくなり、新しいトークンをご利用いただけます。",
    ), serial_label="交換前のシリアル番号"),
    NoticeKind.STOPPED: _Text(f"{_OTP}の利用中止のお知らせ", (
        f"{_OTP}の利用中止のお手続きが完了しました。",
        _BACK_TO_CONFIRMATION,
    )),
    NoticeKind.TOKEN_LOCKED: _Text(f"{_OTP}のロックのお知らせ", (
        f"{_OTP}の誤入力が所定の回数に達したため、ソフトウェアトークンをロックしました。",
        _ASK_BANK_TO_UNLOCK,
    )),
    NoticeKind.LOGIN_PASSWORD_LOCKED: _locked("ログインパスワード"),
    NoticeKind.CONFIRMATION_PASSWORD_LOCKED: _locked("確認用パスワード"),
    NoticeKind.PASSWORD_LOCKED: _locked("パスワード"),
    NoticeKind.SUSPENDED: _Text(f"{_OTP}の一時停止のお知らせ", (
        "当金庫にて、ソフトウェアトークンのご利用を一時停止しました。",
        "停止中は、このトークンの" + _OTP + "はご利用いただけません。",
    )),
    NoticeKind.RESUMED: _Text(f"{_OTP}の利用再開のお知らせ", (
        "当金庫にて、一時停止していたソフトウェアトークンのご利用を再開しました。",
    )),
    NoticeKind.REVOKED: _Text(f"{_OTP}のトークン失効のお知らせ", (
        "当金庫にて、ソフトウェアトークンを失効させました。このトークンは今後ご利用いただけません。",
        _BACK_TO_CONFIRMATION,
        "新しいスマートフォンでは、利用開始のお手続きによりご利用いただけます。",
    )),
    NoticeKind.TOKEN_UNLOCKED: _unlocked(_OTP),
    NoticeKind.LOGIN_PASSWORD_UNLOCKED: _unlocked("ログインパスワード"),
    NoticeKind.CONFIRMATION_PASSWORD_UNLOCKED: _unlocked("確認用パスワード"),
    NoticeKind.PASSWORD_UNLOCKED: _unlocked("パスワード"),
    NoticeKind.RESYNCED: _Text(f"{_OTP}の時刻補正のお知らせ", (
        f"当金庫にて、ソフトウェアトークンの{_OTP}の時刻のずれを補正しました。",
    )),
    NoticeKind.TRANSFER_ACCEPTED: _Text("お振込受付のお知らせ", (
        "インターネットバンキングでのお振込を受け付けました。",
    )),
    NoticeKind.BILL_PAYMENT_ACCEPTED: _Text("払込受付のお知らせ", (
        "インターネットバンキングでの払込（ペイジー）を受け付けました。",
    )),
    NoticeKind.TRANSFER_LIMIT_CHANGED: _Text("振込限度額変更のお知らせ", (
        "インターネットバンキングの振込限度額（1日あたり）を変更しました。",
    )),
}


def format_jst(moment: datetime) -> str:
    """ "2026年4月1日 18時00分（日本時間）" for 2026-04-01 09:00 UTC."""
    if moment.tzinfo is None:
        raise ValueError("a notice time must be timezone-aware")
    t = moment.astimezone(JST)
    return f"{t.year}年{t.month}月{t.day}日 {t.hour:02d}時{t.minute:02d}分（日本時間）"


def compose(notice: Notice, *, recipient_name: str, bank_name: str) -> MailText:
    """The plain-text mail for ``notice``: bank name, the change in words, the time in JST,
    the masked serial, and whom to call. Nothing secret is known here to leak."""
    text = _TEXTS[notice.kind]
    facts = [f"　日時：{format_jst(notice.occurred_at)}"]
    if notice.serial:
        facts.append(f"　{text.serial_label}：{mask_serial(notice.serial)}")
    facts += [f"　{fact}" for fact in notice.facts]
    body = "\n".join([
        f"{recipient_name} 様",
        "",
        f"いつも{bank_name}をご利用いただき、ありがとうございます。",
        "",
        *text.lines,
        "",
        *facts,
        "",
        UNEXPECTED_CHANGE,
        "",
        "※このメールは送信専用です。ご返信いただいてもお答えできません。",
        "※当金庫がメールや電話で、パスワードやワンタイムパスワードをお尋ねすることはありません。",
        "",
        bank_name,
        "",
    ])
    return MailText(subject=f"【{bank_name}】{text.title}", body=body)
