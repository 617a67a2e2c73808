"""ホーム, 振込 and 収納サービス: input → confirmation (OTP, or the confirmation password when
OTP is not in use) → completion with a receipt number.

The confirmation carries a one-time request key, so a double submit never pays twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.banking.accounts import Account, AccountType
from kinko.banking.directory import branch_name
from kinko.banking.drafts import Draft, Payee, PaymentKind, TransferDraft
from kinko.banking.errors import BankingError, FieldErrors, InsufficientFunds
from kinko.domain.errors import InvalidInput, KinkoError, NotFound
from kinko.domain.lifecycle import TokenState
from kinko.domain.serials import parse_code
from kinko.services import accounts, customers, payments, transactions
from kinko.services.customers import OtpStatus
from kinko.services.transactions import Method, Proof
from kinko.web.customer import transfer_settings
from kinko.web.customer.common import (
    Form,
    SignedIn,
    login_required,
    page,
    pop_notice,
    posted,
    session,
    web,
)
from kinko.web.errors import customer_message
from kinko.web.pages import JST, Field, Yen, redirect

router = APIRouter()

ACCOUNT_TYPES = [(t.value, t.label) for t in AccountType]


@dataclass(frozen=True)
class PaymentScreen:
    """What differs between 振込 and 収納サービス."""

    kind: str              # session key and URL part: "transfer" or "billpay"
    payment: PaymentKind
    title: str
    input_title: str
    confirm_title: str
    done_title: str
    done_line: str
    fields: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"/{self.kind}"


TRANSFER = PaymentScreen(
    "transfer", PaymentKind.TRANSFER, "お振込", "振込内容の入力", "振込内容の確認", "振込完了",
    "お振込を受け付けました。",
    ("from_account_id", "bank_code", "branch_code", "account_type", "account_number",
     "payee_kana", "amount"),
)
BILLPAY = PaymentScreen(
    "billpay", PaymentKind.BILL_PAYMENT, "収納サービス (ペイジー)", "払込内容の入力",
    "払込内容の確認", "払込完了",
    "お支払いを受け付けました。",
    ("from_account_id", "biller_number", "customer_number", "confirmation_number", "amount"),
)


def _account_label(account: Account) -> str:
    return f"{account.branch_name} {account.account_type.label} {account.account_number}"


# --- home ----------------------------------------------------------------------------

#: What home says of the customer's one-time password, by the state of their token.
OTP_STATUS_LABELS: dict[TokenState | None, str] = {
    None: "ワンタイムパスワード: 未利用",
    TokenState.ACTIVE: "ワンタイムパスワード: 利用中",
    TokenState.LOCKED: "ワンタイムパスワード: ロック中",
    TokenState.SUSPENDED: "ワンタイムパスワード: 利用停止中",
}
#: What a token that takes no codes means for the customer's transactions, said beside the
#: message that sends them to the bank.
BLOCKED_NOTES: dict[TokenState | None, str] = {
    TokenState.LOCKED: "ロックが解除されるまで、お振込・収納サービスはご利用いただけません。",
    TokenState.SUSPENDED: "利用停止が解除されるまで、お振込・収納サービスはご利用いただけません。",
}


def _blocked(status: OtpStatus) -> tuple[str, str] | None:
    """The message (with the help desk) and its note when the token takes no codes now."""
    if status.refusal is None:
        return None
    return customer_message(status.refusal), BLOCKED_NOTES.get(status.state, "")


@router.get("/home")
def home(request: Request) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    w = web(request)
    statements = accounts.statements(w.ctx, customer.customer_id, limit=10)
    status = customers.otp_status(w.ctx, customer.customer_id)
    data = session(request).data
    previous = data.get("previous_login")
    return page(request, "home.html", title="ホーム",
                accounts=[s.account for s in statements],
                entries={s.account.id: s.entries for s in statements},
                otp_in_use=status.in_use, otp_status=OTP_STATUS_LABELS[status.state],
                otp_blocked=_blocked(status), show_previous_login="previous_login" in data,
                previous_login=datetime.fromisoformat(previous) if previous else None,
                message=pop_notice(request))


# --- input ---------------------------------------------------------------------------

def _input_fields(screen: PaymentScreen, paying: list[Account], values: dict[str, str],
                  errors: dict[str, str]) -> list[Field]:
    account_options = [(str(a.id), _account_label(a)) for a in paying]

    def f(name: str, label: str, kind: str = "digits", hint: str = "",
          maxlength: int | None = None, options: list[tuple[str, str]] | None = None,
          ) -> Field:
        return Field(name, label, kind=kind, hint=hint, value=values.get(name, ""),
                     error=errors.get(name, ""), maxlength=maxlength, options=options or [])

    common_first = f("from_account_id", "支払口座", kind="select", options=account_options)
    amount = f("amount", "振込金額" if screen is TRANSFER else "払込金額", kind="amount",
               maxlength=16)
    if screen is TRANSFER:
        return [common_first,
                f("bank_code", "振込先金融機関コード", hint="4桁の数字", maxlength=8),
                f("branch_code", "振込先支店番号", hint="3桁の数字", maxlength=6),
                f("account_type", "振込先科目", kind="select", options=ACCOUNT_TYPES),
                f("account_number", "振込先口座番号", hint="7桁の数字", maxlength=14),
                f("payee_kana", "受取人名 (カナ)", kind="text", maxlength=60,
                  hint="当金庫の口座あてのお振込は入力不要です（口座名義を確認画面に表示します）"),
                amount]
    return [common_first,
            f("biller_number", "収納機関番号", hint="5桁の数字", maxlength=10),
            f("customer_number", "お客さま番号", maxlength=40),
            f("confirmation_number", "確認番号", maxlength=32),
            amount]


def _input_page(request: Request, customer: SignedIn, screen: PaymentScreen, *,
                values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                error: str | None = None, message: str | None = None) -> Response:
    paying = accounts.accounts_of(web(request).ctx, customer.customer_id)
    extras = transfer_settings.transfer_extras(request, customer) if screen is TRANSFER else {}
    return page(
        request, "transfer.html" if screen is TRANSFER else "form.html",
        title=screen.input_title, flow_title=screen.title, **extras,
        action=screen.url, submit="次へ", error=error, message=message,
        cancel="/home", cancel_label="戻る",
        fields=_input_fields(screen, paying, values or {}, errors or {}),
        status_code=422 if errors or error else 200,
    )


def _prepare(request: Request, customer: SignedIn, screen: PaymentScreen,
             values: dict[str, str]) -> Draft:
    return payments.prepare(web(request).ctx, customer.customer_id, screen.payment, values)


def _payment_form(screen: PaymentScreen) -> Any:
    def show(request: Request) -> Response:
        customer = login_required(request)
        if isinstance(customer, Response):
            return customer
        values = (transfer_settings.transfer_prefill(request, customer)
                  if screen is TRANSFER else {})
        return _input_page(request, customer, screen, values=values,
                           message=pop_notice(request))
    return show


def _payment_input(screen: PaymentScreen) -> Any:
    def handle(request: Request, form: Form) -> Response:
        customer = login_required(request)
        if isinstance(customer, Response):
            return customer
        values = {name: form.text(name) for name in screen.fields}
        try:
            _prepare(request, customer, screen, values)
        except FieldErrors as invalid:
            return _input_page(request, customer, screen, values=values, errors=invalid.errors)
        except BankingError as refused:
            return _input_page(request, customer, screen, values=values, errors=refused.errors,
                               error=None if refused.errors else customer_message(refused))
        session(request).data["payment"] = {
            "kind": screen.kind, "values": values,
            "request_key": secrets.token_urlsafe(24),
        }
        return redirect(f"{screen.url}/confirm")

    async def route(request: Request) -> Response:
        return await posted(request, handle)
    return route


# --- confirmation --------------------------------------------------------------------

def _pending(request: Request, screen: PaymentScreen) -> dict[str, Any] | None:
    pending: dict[str, Any] | None = session(request).data.get("payment")
    return pending if pending and pending.get("kind") == screen.kind else None


def _payee_label(p: Payee, *, with_bank_code: bool = False) -> str:
    bank = f"{p.bank_name} ({p.bank_code})" if with_bank_code else p.bank_name
    branch = branch_name(p.bank_code, p.branch_code)
    where = f"{branch} ({p.branch_code})" if branch else p.branch_code
    return f"{bank} {where} {p.account_type.label} {p.account_number}"


def _summary(draft: Draft) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [("支払口座", _account_label(draft.from_account))]
    if isinstance(draft, TransferDraft):
        p = draft.payee
        rows += [("振込先", _payee_label(p, with_bank_code=True)),
                 # At our bank the name is the account holder's, for the customer to check.
                 ("受取人名 (口座名義)" if p.is_our_bank else "受取人名 (カナ)", p.kana),
                 ("振込金額", Yen(draft.amount)),
                 ("振込手数料", Yen(draft.fee)),
                 ("お引出し合計", Yen(draft.total))]
    else:
        b = draft.bill
        rows += [("収納機関", f"{b.biller_name} ({b.biller_number})"),
                 ("お客さま番号", b.customer_number),
                 ("確認番号", b.confirmation_number),
                 ("払込金額", Yen(draft.amount))]
    return rows


def _confirm_page(request: Request, customer: SignedIn, screen: PaymentScreen,
                  pending: dict[str, Any], *, error: str | None = None,
                  field_error: str = "", status_code: int = 200) -> Response:
    w = web(request)
    try:
        draft = _prepare(request, customer, screen, pending["values"])
    except KinkoError as refused:  # e.g. the balance or today's limit no longer covers it
        session(request).data.pop("payment", None)
        reasons = refused.errors if isinstance(refused, BankingError) else {}
        session(request).data["notice"] = next(iter(reasons.values()), "残高が不足しています。")
        return redirect(screen.url)
    status = customers.otp_status(w.ctx, customer.customer_id)
    blocked = _blocked(status)
    if blocked is not None:
        # A locked or suspended token takes no code: no field and no 実行, but the reason
        # and whom to call (there is no fallback to the confirmation password).
        message, note = blocked
        return page(
            request, "confirm.html", title=screen.title, flow_title=screen.title,
            heading=screen.confirm_title, summary=_summary(draft), intro=[note], fields=[],
            request_key="", action="", error=message, cancel="/home", status_code=status_code)
    if status.in_use:
        secret = Field("otp", "ワンタイムパスワード", kind="otp", error=field_error)
        intro = "上記の内容でよろしければ、ワンタイムパスワードを入力して「実行」を押してください。"
    else:
        secret = Field("confirmation_password", "確認用パスワード", kind="password",
                       error=field_error)
        intro = "上記の内容でよろしければ、確認用パスワードを入力して「実行」を押してください。"
    return page(
        request, "confirm.html", title=screen.title, flow_title=screen.title,
        heading=screen.confirm_title, summary=_summary(draft), intro=[intro],
        fields=[secret], request_key=pending["request_key"], action=f"{screen.url}/confirm",
        error=error, cancel=screen.url, status_code=status_code,
    )


def _confirm_form(screen: PaymentScreen) -> Any:
    def show(request: Request) -> Response:
        customer = login_required(request)
        if isinstance(customer, Response):
            return customer
        pending = _pending(request, screen)
        if pending is None:
            return redirect(screen.url)
        return _confirm_page(request, customer, screen, pending)
    return show


def _execute(screen: PaymentScreen) -> Any:
    def handle(request: Request, form: Form) -> Response:
        customer = login_required(request)
        if isinstance(customer, Response):
            return customer
        s = session(request)
        key = form.text("request_key")
        done: dict[str, str] = s.data.setdefault("paid", {})
        if key and key in done:  # the same confirmation submitted again: show its receipt
            return redirect(f"/receipts/{done[key]}")
        pending = _pending(request, screen)
        if pending is None or key != pending["request_key"]:
            return redirect(screen.url)
        w = web(request)
        method = transactions.required_method(w.ctx, customer.customer_id)
        field = "otp" if method is Method.OTP else "confirmation_password"
        if method is Method.OTP:
            try:
                parse_code(form.text("otp"))
            except InvalidInput:
                return _confirm_page(
                    request, customer, screen, pending, status_code=422,
                    field_error="ワンタイムパスワードは6桁の数字で入力してください。")
        elif not form.filled(field):
            return _confirm_page(request, customer, screen, pending, status_code=422,
                                 field_error="入力してください。")
        proof: Proof = form.code(field) if method is Method.OTP else form.password(field)
        try:
            draft = _prepare(request, customer, screen, pending["values"])
            receipt = payments.confirm(w.ctx, customer.customer_id, draft, proof,
                                       request_key=key)
        except InsufficientFunds:
            return _confirm_page(request, customer, screen, pending, status_code=422,
                                 error="残高が不足しています。")
        except KinkoError as failure:
            message = ("確認用パスワードが正しくありません。"
                       if failure.code == "wrong_password" else customer_message(failure))
            return _confirm_page(request, customer, screen, pending, error=message,
                                 status_code=422)
        s.data.pop("payment", None)
        done[key] = receipt.receipt_number
        return redirect(f"/receipts/{receipt.receipt_number}")

    async def route(request: Request) -> Response:
        return await posted(request, handle)
    return route


for _screen in (TRANSFER, BILLPAY):
    router.add_api_route(_screen.url, _payment_form(_screen), methods=["GET"])
    router.add_api_route(_screen.url, _payment_input(_screen), methods=["POST"])
    router.add_api_route(f"{_screen.url}/confirm", _confirm_form(_screen), methods=["GET"])
    router.add_api_route(f"{_screen.url}/confirm", _execute(_screen), methods=["POST"])


# --- receipt -------------------------------------------------------------------------

@router.get("/receipts/{number}")
def show_receipt(number: str, request: Request) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    try:
        receipt = payments.receipt(web(request).ctx, customer.customer_id, number)
    except (NotFound, InvalidInput):
        return page(request, "message.html", title="エラー", error="ページが見つかりません。",
                    next_href="/home", next_label="ホームへ戻る", status_code=404)
    screen = TRANSFER if receipt.kind is PaymentKind.TRANSFER else BILLPAY
    summary: list[tuple[str, object]] = [
               ("受付番号", receipt.receipt_number),
               ("受付日時", receipt.created_at.astimezone(JST).strftime("%Y/%m/%d %H:%M:%S"))]
    if receipt.payee is not None:
        p = receipt.payee
        summary += [("振込先", _payee_label(p)),
                    ("受取人名 (カナ)", p.kana), ("振込金額", Yen(receipt.amount)),
                    ("振込手数料", Yen(receipt.fee))]
    if receipt.bill is not None:
        b = receipt.bill
        summary += [("収納機関", f"{b.biller_name} ({b.biller_number})"),
                    ("お客さま番号", b.customer_number), ("払込金額", Yen(receipt.amount))]
    summary.append(("残高", Yen(receipt.balance_after)))
    return page(request, "receipt.html", title=screen.done_title, flow_title=screen.title,
                lines=[screen.done_line], summary=summary, next_href="/home",
                next_label="ホームへ戻る",
                save_payee=receipt.receipt_number if receipt.payee is not None else None)


router.include_router(transfer_settings.router)
