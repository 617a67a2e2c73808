"""登録振込先, the bank search, 受取人名 from our ledger and 振込限度額 over HTTP, on the real
store (SQLite and PostgreSQL): issue 15 point 8 on the customer's screens."""

from __future__ import annotations

import re

import pytest
from httpx import Response

from kinko.banking.accounts import AccountType
from kinko.domain.model import Customer
from kinko.services import payees, payments
from kinko.services.accounts import accounts_of, open_account
from tests.support import CONFIRMATION_PASSWORD, Harness
from tests.web.client import REQUEST_KEY, Browser, text_of


@pytest.fixture
def browser(harness: Harness) -> Browser:
    return Browser(harness)


def account_of(h: Harness, customer: Customer, balance: int, kana: str) -> int:
    return open_account(
        h.ctx, customer_id=customer.id, branch_code="001", branch_name="本店営業部",
        account_type=AccountType.ORDINARY, account_number=f"{customer.id:07d}",
        holder_kana=kana, balance=balance).id


def transfer(b: Browser, source: int, **fields: str) -> Response:
    """Fill in the transfer input (to another bank unless ``fields`` say otherwise)."""
    b.get("/transfer")
    form = {"from_account_id": str(source), "bank_code": "0009", "branch_code": "123",
            "account_type": "ordinary", "account_number": "7654321",
            "payee_kana": "ﾔﾏﾀﾞ ﾀﾛｳ", "amount": "10000"}
    form.update(fields)
    return b.post("/transfer", form)


def confirm(b: Browser, **proof: str) -> Response:
    page = b.get("/transfer/confirm")
    found = REQUEST_KEY.search(page.text)
    assert found is not None, text_of(page)[:500]
    return b.post("/transfer/confirm", {"request_key": found.group(1), **proof})


@pytest.fixture
def hanako(browser: Browser) -> tuple[Customer, int]:
    h = browser.h
    customer = h.customer("1000000001", name="金庫 花子")
    source = account_of(h, customer, 3_000_000, "ｷﾝｺ ﾊﾅｺ")
    browser.login(customer.contract_id)
    return customer, source


def test_a_payee_inside_the_bank_is_named_from_the_account_for_the_customer_to_confirm(
    browser: Browser, hanako: tuple[Customer, int]
) -> None:
    b, h = browser, browser.h
    taro = h.customer("1000000002", name="信用 太郎")
    account_of(h, taro, 0, "ｼﾝﾖｳ ﾀﾛｳ")
    response = transfer(b, hanako[1], bank_code="1234", branch_code="001",
                        account_number=f"{taro.id:07d}", payee_kana="")
    assert response.headers["location"] == "/transfer/confirm"
    page = text_of(b.get("/transfer/confirm"))
    assert "受取人名 (口座名義)" in page and "ｼﾝﾖｳ ﾀﾛｳ" in page
    assert "きんこ信用金庫 (1234) 本店営業部 (001)" in page


def test_a_payee_is_saved_from_the_receipt_chosen_for_the_next_transfer_and_deleted(
    browser: Browser, hanako: tuple[Customer, int]
) -> None:
    b, h = browser, browser.h
    customer, source = hanako
    assert "登録されている振込先はありません" in text_of(b.get("/payees"))
    assert transfer(b, source).status_code == 303
    receipt = b.follow(confirm(b, confirmation_password=CONFIRMATION_PASSWORD))
    assert "この振込先を登録する" in text_of(receipt)
    number = re.search(r'name="receipt_number" value="(T\d{11})"', receipt.text)
    assert number is not None
    listing = b.follow(b.post("/payees", {"receipt_number": number.group(1)}))
    assert "振込先を登録しました。" in text_of(listing)
    assert "三井住友銀行 東京中央支店 普通 7654321 ﾔﾏﾀﾞ ﾀﾛｳ" in text_of(listing)
    (saved,) = payees.payees_of(h.ctx, customer.id)
    # the transfer input offers it, and choosing it fills in the payee
    assert f'href="/transfer?payee={saved.id}"' in b.get("/transfer").text
    chosen = b.get(f"/transfer?payee={saved.id}").text
    assert 'value="7654321"' in chosen and 'value="0009"' in chosen
    # another customer's payee id fills in nothing
    assert 'value="7654321"' not in b.get(f"/transfer?payee={saved.id + 1}").text
    # deleting asks first, then deletes
    ask = b.get(f"/payees/{saved.id}/delete")
    assert "削除する" in text_of(ask) and "7654321" in text_of(ask)
    done = b.follow(b.post(f"/payees/{saved.id}/delete", {}))
    assert "振込先を削除しました。" in text_of(done)
    assert payees.payees_of(h.ctx, customer.id) == []
    assert b.post(f"/payees/{saved.id}/delete", {}).status_code == 404


def test_another_customers_receipt_and_payee_are_not_found(
    browser: Browser, hanako: tuple[Customer, int]
) -> None:
    b, h = browser, browser.h
    customer, source = hanako
    transfer(b, source)
    receipt = b.follow(confirm(b, confirmation_password=CONFIRMATION_PASSWORD))
    found = re.search(r'name="receipt_number" value="(T\d{11})"', receipt.text)
    assert found is not None
    taro = h.customer("1000000002", name="信用 太郎")
    account_of(h, taro, 0, "ｼﾝﾖｳ ﾀﾛｳ")
    other = Browser(h)
    other.login(taro.contract_id)
    other.get("/payees")
    assert other.post("/payees", {"receipt_number": found.group(1)}).status_code == 404
    assert payees.payees_of(h.ctx, taro.id) == []
    b.get("/payees")
    b.post("/payees", {"receipt_number": found.group(1)})
    (saved,) = payees.payees_of(h.ctx, customer.id)
    assert "7654321" not in other.get("/payees").text
    assert other.get(f"/payees/{saved.id}/delete").status_code == 404
    assert other.post(f"/payees/{saved.id}/delete", {}).status_code == 404
    assert payees.payees_of(h.ctx, customer.id) == [saved]


def test_the_bank_search_finds_banks_and_branches_and_fills_in_the_codes(
    browser: Browser, hanako: tuple[Customer, int]
) -> None:
    b = browser
    banks = b.get("/transfer/banks?q=みつい")
    assert "三井住友銀行 (0009)" in text_of(banks)
    assert 'href="/transfer/banks?bank=0009"' in banks.text
    branches = b.get("/transfer/banks?bank=0009&q=とうきょう")
    assert "東京中央支店 (123)" in text_of(branches)
    assert 'href="/transfer?bank_code=0009&amp;branch_code=123"' in branches.text
    filled = b.get("/transfer?bank_code=0009&branch_code=123").text
    assert 'value="0009"' in filled and 'value="123"' in filled
    assert "該当するものはありません。" in text_of(b.get("/transfer/banks?q=存在しない"))


def test_the_limit_is_lowered_without_and_raised_only_with_the_confirmation_password(
    browser: Browser, hanako: tuple[Customer, int]
) -> None:
    b, h = browser, browser.h
    customer, source = hanako
    page = text_of(b.get("/transfer/limit"))
    assert "1,000,000円" in page and "確認用パスワード" in page
    lowered = b.follow(b.submit("/transfer/limit", {"daily_limit": "２０，０００"}))
    assert "振込限度額を変更しました。" in text_of(lowered)
    assert payments.daily_limit(h.ctx, customer.id).daily_limit == 20_000
    # the transfer input says so, and refuses more
    assert "本日の振込可能額" in text_of(b.get("/transfer"))
    over = transfer(b, source, amount="20001")
    assert over.status_code == 422
    assert "1日あたりの振込限度額を超えています" in text_of(over)
    # raising needs the proof
    refused = b.submit("/transfer/limit", {"daily_limit": "3,000,000"})
    assert refused.status_code == 422
    assert "確認用パスワードを入力してください" in text_of(refused)
    wrong = b.submit("/transfer/limit", {"daily_limit": "3,000,000",
                                         "confirmation_password": "wrong-one"})
    assert wrong.status_code == 422
    assert payments.daily_limit(h.ctx, customer.id).daily_limit == 20_000
    raised = b.submit("/transfer/limit", {"daily_limit": "3,000,000",
                                          "confirmation_password": CONFIRMATION_PASSWORD})
    assert raised.status_code == 303
    assert payments.daily_limit(h.ctx, customer.id).daily_limit == 3_000_000
    malformed = b.submit("/transfer/limit", {"daily_limit": "10,000,001"})
    assert "振込限度額は0円以上10,000,000円以下で入力してください" in text_of(malformed)


def test_the_limit_of_a_customer_with_a_token_is_raised_with_the_otp(
    browser: Browser, hanako: tuple[Customer, int]
) -> None:
    b, h = browser, browser.h
    customer, _ = hanako
    issued = h.enroll(customer)
    assert "ワンタイムパスワード" in text_of(b.get("/transfer/limit"))
    b.submit("/transfer/limit", {"daily_limit": "0"})
    assert payments.daily_limit(h.ctx, customer.id).daily_limit == 0
    h.next_step()
    raised = b.submit("/transfer/limit", {"daily_limit": "500000",
                                          "otp": h.code(issued).reveal()})
    assert raised.status_code == 303, text_of(raised)[:500]
    assert payments.daily_limit(h.ctx, customer.id).daily_limit == 500_000


def test_a_limit_passed_between_input_and_confirmation_sends_the_customer_back(
    browser: Browser, hanako: tuple[Customer, int]
) -> None:
    b, h = browser, browser.h
    customer, source = hanako
    assert transfer(b, source, amount="600000").status_code == 303
    page = b.get("/transfer/confirm")
    found = REQUEST_KEY.search(page.text)
    assert found is not None
    with h.ctx.uow() as uow:  # lowered meanwhile, e.g. in another window
        uow.ledger.set_daily_limit(customer.id, 500_000, now=h.clock())
        uow.commit()
    assert b.get("/transfer/confirm").headers["location"] == "/transfer"
    assert "1日あたりの振込限度額を超えています" in text_of(b.get("/transfer"))
    transfer(b, source, amount="400000")
    page = b.get("/transfer/confirm")
    found = REQUEST_KEY.search(page.text)
    assert found is not None
    with h.ctx.uow() as uow:
        uow.ledger.set_daily_limit(customer.id, 300_000, now=h.clock())
        uow.commit()
    response = b.post("/transfer/confirm", {"request_key": found.group(1),
                                            "confirmation_password": CONFIRMATION_PASSWORD})
    assert response.headers["location"] == "/transfer"
    assert "1日あたりの振込限度額を超えています" in text_of(b.get("/transfer"))
    assert accounts_of(h.ctx, customer.id)[0].balance == 3_000_000
