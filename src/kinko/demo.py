"""Demo customers, accounts and tokens for ``make run``: one customer on passwords only,
one with OTP and login OTP on, one with OTP for transactions only.

Demo tokens are the only tokens whose codes the CLI will show (``kinko token code``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinko.banking.accounts import Account, AccountType, Entry, NewEntry
from kinko.banking.directory import OUR_BANK_CODE, OUR_BANK_NAME
from kinko.banking.drafts import Payee
from kinko.bootstrap import Kinko
from kinko.domain.errors import NotFound
from kinko.domain.events import Channel
from kinko.domain.model import StaffRole, TokenOrigin
from kinko.domain.secrets import Code, Password
from kinko.services import accounts, customers, enrollment, payees
from kinko.services.context import Context
from kinko.services.issuance import issue_token
from kinko.services.staff_accounts import add_staff
from kinko.store.rows import CustomerRow


@dataclass(frozen=True)
class DemoCustomer:
    contract_id: str
    name: str
    kana: str
    login_password: str
    confirmation_password: str
    otp: bool
    login_otp: bool
    balance: int


# Demo credentials are public on purpose: they exist only in demo data.
DEMO_CUSTOMERS = (
    DemoCustomer("1000000001", "金庫 花子", "ｷﾝｺ ﾊﾅｺ", "hanako-login",
                 "hanako-kakunin", otp=False, login_otp=False, balance=1_250_000),
    DemoCustomer("1000000002", "信用 太郎", "ｼﾝﾖｳ ﾀﾛｳ", "taro-login",
                 "taro-kakunin", otp=True, login_otp=True, balance=3_480_000),
    DemoCustomer("1000000003", "小判 次郎", "ｺﾊﾞﾝ ｼﾞﾛｳ", "jiro-login",
                 "jiro-kakunin", otp=True, login_otp=False, balance=520_000),
)


@dataclass(frozen=True)
class DemoLine:
    customer: DemoCustomer
    serial: str | None


#: Unbound demo tokens for trying 利用開始 and 交換 before the token app exists.
SPARE_TOKENS = 2


@dataclass(frozen=True)
class DemoStaff:
    name: str
    display_name: str
    role: StaffRole
    password: str


# Two people, so that four-eyes approvals can be tried: one operator, one supervisor.
DEMO_STAFF = (
    DemoStaff("suzuki", "鈴木 (窓口)", StaffRole.OPERATOR, "suzuki-console"),
    DemoStaff("sato", "佐藤 (責任者)", StaffRole.SUPERVISOR, "sato-console"),
)


def is_empty(kinko: Kinko) -> bool:
    with Session(kinko.engine) as session:
        return session.execute(select(CustomerRow.id).limit(1)).first() is None


def load(kinko: Kinko) -> list[DemoLine]:
    """Create the demo customers with an ordinary account each, and enroll their tokens
    through the same 利用開始 service the customer screens use."""
    ctx = kinko.ctx
    lines = []
    for number, demo in enumerate(DEMO_CUSTOMERS, start=1):
        customer = customers.add_customer(
            ctx, contract_id=demo.contract_id, name=demo.name,
            login_password=Password(demo.login_password),
            confirmation_password=Password(demo.confirmation_password),
            email=f"demo{number}@example.jp",
        )
        account = accounts.open_account(
            ctx, customer_id=customer.id, branch_code="001", branch_name="本店営業部",
            account_type=AccountType.ORDINARY, account_number=f"{1234560 + number:07d}",
            holder_kana=demo.kana, balance=demo.balance)
        seed_history(ctx, account)
        serial = None
        if demo.otp:
            issued = issue_token(ctx, TokenOrigin.DEMO)
            params = issued.token.params
            started = enrollment.begin(ctx, demo.contract_id, Password(demo.login_password),
                                       channel=Channel.CLI)
            code = params.code_at(issued.seed.reveal(), ctx.clock().timestamp())
            confirmed = enrollment.confirm_token(ctx, started, issued.token.serial, Code(code),
                                                 channel=Channel.CLI)
            enrollment.register(ctx, confirmed, login_otp_required=demo.login_otp,
                                confirmation_password=Password(demo.confirmation_password),
                                channel=Channel.CLI)
            serial = issued.token.serial
        lines.append(DemoLine(demo, serial))
    for number, line in enumerate(lines, start=1):
        save_payees(ctx, line.customer, number)
    return lines


#: A payee at another bank every demo customer has saved (登録振込先).
DEMO_OTHER_BANK_PAYEE = Payee("0009", "三井住友銀行", "123", AccountType.ORDINARY, "7654321",
                              "ﾔﾏﾀﾞ ﾀﾛｳ")


def save_payees(ctx: Context, demo: DemoCustomer, number: int) -> None:
    """Give a demo customer registered payees: the next demo customer's account at our
    bank (so 受取人名 shows from the ledger) and an account at another bank."""
    with ctx.uow() as uow:
        customer = uow.customers.by_contract_id(demo.contract_id)
    if customer is None:
        raise NotFound("no such demo customer")
    following = DEMO_CUSTOMERS[number % len(DEMO_CUSTOMERS)]
    ours = Payee(OUR_BANK_CODE, OUR_BANK_NAME, "001", AccountType.ORDINARY,
                 f"{1234560 + number % len(DEMO_CUSTOMERS) + 1:07d}", following.kana)
    for payee in (ours, DEMO_OTHER_BANK_PAYEE):
        payees.add(ctx, customer.id, payee)


def staff(kinko: Kinko) -> list[tuple[DemoStaff, str]]:
    """The demo staff with demo sign-in tokens (so `kinko token code` shows their codes)."""
    return [
        (member, add_staff(kinko.ctx, name=member.name, display_name=member.display_name,
                           role=member.role, password=Password(member.password),
                           origin=TokenOrigin.DEMO).token.token.serial)
        for member in DEMO_STAFF
    ]


def spare_tokens(kinko: Kinko) -> list[str]:
    """Issue the unbound demo tokens that 利用開始 and 交換 can be tried with."""
    return [issue_token(kinko.ctx, TokenOrigin.DEMO).token.serial for _ in range(SPARE_TOKENS)]


#: A month of an ordinary account, oldest first: (days ago, hour in Japan, yen, description).
_DEMO_HISTORY = (
    (34, 10, 245_000, "給与 ｶ)ｷﾝｺｼﾖｳｼﾞ"),
    (30, 12, -30_000, "ATM"),
    (22, 9, -8_460, "収納 きんこ電力"),
    (15, 9, -4_120, "収納 きんこガス"),
    (9, 18, -20_000, "ATM"),
    (4, 10, 245_000, "給与 ｶ)ｷﾝｺｼﾖｳｼﾞ"),
    (2, 9, -3_300, "収納 きんこ市水道局"),
)

_JST = timezone(timedelta(hours=9), "JST")


def history(account_id: int, balance: int, now: datetime) -> list[NewEntry]:
    """A month of plausible statement lines (給与, ATM, 公共料金), oldest first, that end at
    ``balance``. Balances are worked out backwards from today's; lines that would need the
    account to have been overdrawn are left out."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(_JST).replace(minute=0, second=0, microsecond=0)
    kept: list[NewEntry] = []
    for days, hour, amount, description in reversed(_DEMO_HISTORY):
        if balance - amount < 0:
            break
        at = (today - timedelta(days=days)).replace(hour=hour)
        kept.append(NewEntry(account_id, amount, balance, description, at))
        balance -= amount
    return kept[::-1]


def seed_history(ctx: Context, account: Account) -> list[Entry]:
    """Give a demo account its ``history`` up to its current balance, which stays as it is;
    the lines written, newest first. Does nothing (returns []) if the account already has
    statement lines, so it can be run again safely."""
    with ctx.uow() as uow:
        found = uow.ledger.account_of(account.customer_id, account.id)
        if found is None:
            raise NotFound("no such account")
        if uow.ledger.has_entries(found.id):
            return []
        lines = history(found.id, found.balance, ctx.clock())
        if not lines:
            return []
        uow.ledger.add_entries(lines)
        written = list(uow.ledger.recent_entries(found.id, limit=len(lines)))
        uow.commit()
    return written
