"""``payments.confirm``, the whole use case: the proof the customer's transactions need, then
the payment and its ``transaction:authorized`` event booked together, once per request key.
On the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from kinko.banking.accounts import Account
from kinko.banking.errors import InsufficientFunds, RequestKeyReused, UnknownAccount
from kinko.domain.errors import InvalidInput, ReplayedCode, WrongCode, WrongPassword
from kinko.domain.events import Action, AuditEvent, Outcome
from kinko.domain.model import Customer
from kinko.domain.secrets import Password
from kinko.services import payments
from kinko.services.issuance import IssuedToken
from tests.banking.conftest import Bank
from tests.banking.forms import bill_form, prepare, typed
from tests.support import CONFIRMATION_PASSWORD


def events(bank: Bank, customer: Customer, action: Action) -> list[AuditEvent]:
    with bank.ctx.uow() as uow:
        return [event for event in uow.audit.recent(limit=100, contract_id=customer.contract_id)
                if event.action is action]


def authorized_reasons(bank: Bank, customer: Customer) -> list[str | None]:
    return [event.reason for event in events(bank, customer, Action.TRANSACTION_AUTHORIZED)]


def code_checks(bank: Bank, customer: Customer) -> list[Outcome]:
    """The outcomes of the customer's code checks, oldest first (利用開始's included)."""
    return [event.outcome for event in events(bank, customer, Action.TOKEN_CODE_CHECKED)][::-1]


@pytest.fixture
def token(bank: Bank, hanako: Customer) -> IssuedToken:
    """Hanako uses OTP: her transactions need the token's code."""
    return bank.harness.enroll(hanako)


def test_with_otp_in_use_the_code_books_the_transfer_and_its_authorization(
    bank: Bank, hanako: Customer, account: Account, token: IssuedToken
) -> None:
    draft = prepare(bank, hanako, **typed(account, amount=10_000))
    code = bank.harness.code(token)
    before = code_checks(bank, hanako)
    done = payments.confirm(bank.ctx, hanako.id, draft, code, request_key="k-1")
    assert (done.amount, done.fee, done.balance_after) == (10_000, 330, 89_670)
    assert bank.balance(account) == 89_670
    assert authorized_reasons(bank, hanako) == ["transfer:otp"]
    assert code_checks(bank, hanako) == [*before, Outcome.SUCCESS]
    # The code is spent: it proves nothing a second time.
    other = prepare(bank, hanako, **typed(account, amount=1_000))
    with pytest.raises(ReplayedCode):
        payments.confirm(bank.ctx, hanako.id, other, code, request_key="k-2")
    assert bank.transfer_count() == 1


def test_without_otp_the_confirmation_password_books_a_bill_payment(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = payments.prepare_bill_payment(bank.ctx, hanako.id, **bill_form(account))
    done = payments.confirm(bank.ctx, hanako.id, draft, Password(CONFIRMATION_PASSWORD),
                            request_key="k-1")
    assert done.bill == draft.bill
    assert bank.balance(account) == 100_000 - 8_460
    assert authorized_reasons(bank, hanako) == ["bill_payment:confirmation_password"]


def test_a_wrong_code_books_nothing_and_authorizes_nothing_but_counts(
    bank: Bank, hanako: Customer, account: Account, token: IssuedToken
) -> None:
    draft = prepare(bank, hanako, **typed(account))
    with pytest.raises(WrongCode):
        payments.confirm(bank.ctx, hanako.id, draft, bank.harness.wrong_code(token),
                         request_key="k-1")
    assert bank.balance(account) == 100_000
    assert bank.transfer_count() == 0
    assert authorized_reasons(bank, hanako) == []
    with bank.ctx.uow() as uow:
        assert uow.tokens.get(token.token.id).failures == 1  # type: ignore[union-attr]
    # The key was not spent: the right code then goes through with it.
    done = payments.confirm(bank.ctx, hanako.id, draft, bank.harness.code(token),
                            request_key="k-1")
    assert bank.balance(account) == 100_000 - done.total


def test_a_wrong_confirmation_password_books_nothing(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    draft = prepare(bank, hanako, **typed(account))
    with pytest.raises(WrongPassword):
        payments.confirm(bank.ctx, hanako.id, draft, Password("not-it"), request_key="k-1")
    assert (bank.balance(account), bank.transfer_count()) == (100_000, 0)
    assert authorized_reasons(bank, hanako) == []
    failed = events(bank, hanako, Action.CONFIRMATION_PASSWORD_CHECKED)
    assert [e.outcome for e in failed] == [Outcome.FAILURE]


def test_a_customer_on_otp_cannot_confirm_with_the_password(
    bank: Bank, hanako: Customer, account: Account, token: IssuedToken
) -> None:
    draft = prepare(bank, hanako, **typed(account))
    with pytest.raises(InvalidInput):
        payments.confirm(bank.ctx, hanako.id, draft, Password(CONFIRMATION_PASSWORD),
                         request_key="k-1")
    assert (bank.balance(account), bank.transfer_count()) == (100_000, 0)


def test_the_same_request_key_again_returns_the_first_receipt_and_pays_nothing(
    bank: Bank, hanako: Customer, account: Account, token: IssuedToken
) -> None:
    draft = prepare(bank, hanako, **typed(account, amount=10_000))
    code = bank.harness.code(token)
    first = payments.confirm(bank.ctx, hanako.id, draft, code, request_key="k-1")
    checks = code_checks(bank, hanako)
    bank.harness.clock.advance(5)
    # The same confirmation submitted again, its code long spent: the first receipt.
    again = payments.confirm(bank.ctx, hanako.id, draft, code, request_key="k-1")
    assert again == first
    assert bank.balance(account) == 89_670
    assert bank.transfer_count() == 1
    assert authorized_reasons(bank, hanako) == ["transfer:otp"]
    assert code_checks(bank, hanako) == checks
    # A different payment under that key is refused, and no proof is asked for it.
    other = prepare(bank, hanako, **typed(account, amount=2_000))
    with pytest.raises(RequestKeyReused):
        payments.confirm(bank.ctx, hanako.id, other, bank.harness.code(token),
                         request_key="k-1")
    assert code_checks(bank, hanako) == checks


def test_insufficient_funds_books_nothing_but_the_code_stays_spent(
    bank: Bank, hanako: Customer, account: Account, token: IssuedToken
) -> None:
    first = prepare(bank, hanako, **typed(account, amount=60_000))
    second = prepare(bank, hanako, **typed(account, amount=60_000))  # both fit when prepared
    payments.confirm(bank.ctx, hanako.id, first, bank.harness.code(token), request_key="k-1")
    bank.harness.next_step()
    code = bank.harness.code(token)
    before = code_checks(bank, hanako)
    with pytest.raises(InsufficientFunds):
        payments.confirm(bank.ctx, hanako.id, second, code, request_key="k-2")
    assert bank.balance(account) == 100_000 - 60_330
    assert bank.transfer_count() == 1
    assert authorized_reasons(bank, hanako) == ["transfer:otp"]
    assert code_checks(bank, hanako) == [*before, Outcome.SUCCESS]
    small = prepare(bank, hanako, **typed(account, amount=1_000))
    with pytest.raises(ReplayedCode):
        payments.confirm(bank.ctx, hanako.id, small, code, request_key="k-3")


def test_another_customers_draft_is_refused_before_any_proof_is_checked(
    bank: Bank, hanako: Customer, account: Account
) -> None:
    taro = bank.customer("1000000002", name="信用 太郎")
    draft = prepare(bank, hanako, **typed(account))
    with pytest.raises(UnknownAccount):
        payments.confirm(bank.ctx, taro.id, draft, Password(CONFIRMATION_PASSWORD),
                         request_key="k-1")
    assert events(bank, taro, Action.CONFIRMATION_PASSWORD_CHECKED) == []
    assert (bank.balance(account), bank.transfer_count()) == (100_000, 0)
