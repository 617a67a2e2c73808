"""The tests' side door into the live server's database: customers, accounts, tokens and
the codes a token would show, made through the same services the screens call.

Every test makes its own customer, so no test sees another's rows or depends on its order.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from kinko.banking.accounts import Account, AccountType
from kinko.bootstrap import Kinko
from kinko.domain.model import StaffMember, StaffRole, Token, TokenOrigin
from kinko.domain.secrets import Code, Password
from kinko.services import customers, enrollment
from kinko.services.accounts import accounts_of, open_account
from kinko.services.issuance import IssuedToken, issue_token
from kinko.services.staff_accounts import add_staff

LOGIN_PASSWORD = "e2e-login-pass"
CONFIRMATION_PASSWORD = "e2e-kakunin-pass"
STAFF_PASSWORD = "e2e-staff-pass"
OPENING_BALANCE = 1_000_000
BRANCH_CODE = "001"
BRANCH_NAME = "本店営業部"

#: A code computed this close to the end of its 30-second step may be checked in the next
#: one; where that would matter, waiting out those seconds keeps the tests steady.
STEP_MARGIN_SECONDS = 3.0

# One counter for the whole run: contract IDs and account numbers never repeat, even if two
# viewports' servers were ever to share a database.
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Customer:
    id: int
    contract_id: str
    name: str
    login_password: str
    confirmation_password: str
    account: Account
    token: IssuedToken | None = None


@dataclass(frozen=True)
class Staff:
    """A bank staff member with the password and the own TOTP token they sign in with."""

    member: StaffMember
    password: str
    token: IssuedToken

    @property
    def name(self) -> str:
        return self.member.name

    @property
    def actor(self) -> str:
        """How the audit trail names this staff member."""
        return f"staff:{self.member.name}"


class Bank:
    """Set-up and inspection for one test, on the database the live server serves."""

    def __init__(self, kinko: Kinko) -> None:
        self.kinko = kinko
        self.ctx = kinko.ctx

    # --- customers and accounts ----------------------------------------------------------

    def customer(self, *, otp: bool = False, login_otp: bool = False,
                 balance: int = OPENING_BALANCE) -> Customer:
        """A new customer with one 普通 account; with ``otp``, already enrolled (利用開始)."""
        number = next(_numbers)
        contract_id = f"{2_000_000_000 + number:010d}"
        name = f"試験 太郎{number}"
        customer = customers.add_customer(
            self.ctx, contract_id=contract_id, name=name,
            login_password=Password(LOGIN_PASSWORD),
            confirmation_password=Password(CONFIRMATION_PASSWORD),
            email=f"e2e{number}@example.jp",
        )
        account = open_account(
            self.ctx, customer_id=customer.id, branch_code=BRANCH_CODE,
            branch_name=BRANCH_NAME, account_type=AccountType.ORDINARY,
            account_number=f"{7_000_000 + number:07d}", holder_kana=f"ｼｹﾝ ﾀﾛｳ{number}",
            balance=balance,
        )
        found = Customer(customer.id, contract_id, name, LOGIN_PASSWORD, CONFIRMATION_PASSWORD,
                         account)
        if otp:
            found = self.enroll(found, login_otp=login_otp)
        return found

    def enroll(self, customer: Customer, *, login_otp: bool) -> Customer:
        """利用開始 through the services, as the screens do it, with a fresh token."""
        issued = self.issue_token()
        started = enrollment.begin(self.ctx, customer.contract_id,
                                   Password(customer.login_password))
        confirmed = enrollment.confirm_token(self.ctx, started, issued.token.serial,
                                             Code(self.code(issued)))
        enrollment.register(self.ctx, confirmed, login_otp_required=login_otp,
                            confirmation_password=Password(customer.confirmation_password))
        return Customer(customer.id, customer.contract_id, customer.name,
                        customer.login_password, customer.confirmation_password,
                        customer.account, issued)

    def staff(self, role: StaffRole) -> Staff:
        """A new staff member (``kinko staff add``, through the same service) with a staff ID
        no other test uses; ``bank.staff_code(staff)`` gives their sign-in code."""
        number = next(_numbers)
        created = add_staff(self.ctx, name=f"e2e-{role.value}-{number}",
                            display_name=f"試験 {role.label}{number}", role=role,
                            password=Password(STAFF_PASSWORD))
        return Staff(created.member, STAFF_PASSWORD, created.token)

    def balance(self, account: Account) -> int:
        found = [a for a in accounts_of(self.ctx, account.customer_id)
                 if a.id == account.id]
        return found[0].balance

    # --- tokens and their codes -----------------------------------------------------------

    def issue_token(self) -> IssuedToken:
        """A new unbound token, as if a customer had just activated the app."""
        return issue_token(self.ctx, TokenOrigin.DEMO)

    def token(self, issued: IssuedToken) -> Token:
        """The token as the server sees it now (state, last accepted step, drift)."""
        with self.ctx.uow() as uow:
            token = uow.tokens.get(issued.token.id)
        assert token is not None
        return token

    def code(self, issued: IssuedToken) -> str:
        """A code the server accepts now for this token, waiting only when it must.

        The server takes one code per 30-second step (replay protection), from the steps
        within its window around now plus the token's learned drift. We offer the token's
        current code, or the next step's (what a token whose clock runs a little fast
        shows) when the current step is spent; only when both are spent do we wait for the
        next step to begin. We never go further ahead than one step, like a real token.
        A code that would fall out of the window if the step changed on its way to the
        server is only offered with a few seconds of the step left.
        """
        params = issued.token.params
        window = self.ctx.policy.window
        while True:
            now = time.time()
            left = params.seconds_left(now)
            token = self.token(issued)
            current = params.step_at(now)
            centre = current + token.drift
            spent = token.last_step if token.last_step is not None else -1
            for step in (current, current + 1):
                fits_now = abs(step - centre) <= window
                fits_next_step = abs(step - (centre + 1)) <= window
                if step > spent and fits_now and (fits_next_step or left > STEP_MARGIN_SECONDS):
                    return params.code_at_step(issued.seed.reveal(), step)
            time.sleep(left + 0.05)

    def staff_code(self, staff: Staff) -> str:
        """A code the staff member's own token shows now (the same replay rules apply)."""
        return self.code(staff.token)

    def wrong_code(self, issued: IssuedToken) -> str:
        """Six digits that match none of the steps near now."""
        params = issued.token.params
        now = time.time()
        near = {params.code_at(issued.seed.reveal(), now + d * params.period)
                for d in range(-3, 4)}
        return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in near)
