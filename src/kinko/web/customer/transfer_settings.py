"""What a real IB offers around 振込: 登録振込先 (saved payees: save one from a transfer's
receipt, start a transfer from one, delete one), finding a bank and branch by name or code,
and 振込限度額 (the daily transfer limit: lower it freely, raise it with the OTP or, without
one, the confirmation password).

Each handler parses, calls one service, renders. ``banking`` (the 振込 screens) takes the
prefilled values and the payee list from here and includes this router.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.banking.directory import bank, branch_name, search_banks, search_branches
from kinko.banking.errors import BankingError, FieldErrors
from kinko.banking.payees import SavedPayee
from kinko.domain.errors import InvalidInput, KinkoError, NotFound
from kinko.domain.serials import parse_code
from kinko.services import payees, payments, transactions, transfer_limits
from kinko.services.transactions import Method, Proof
from kinko.services.transfer_limits import ProofRequired
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
from kinko.web.pages import Field, Yen, redirect

router = APIRouter()

#: The transfer input's fields a link may fill in (a saved payee, a searched branch).
_PREFILLED = ("bank_code", "branch_code", "account_type", "account_number", "payee_kana")


def payee_label(saved: SavedPayee) -> str:
    """How a saved payee reads in a list: bank, branch, type, number, name."""
    p = saved.payee
    branch = branch_name(p.bank_code, p.branch_code) or p.branch_code
    return (f"{p.bank_name} {branch} {p.account_type.label} "
            f"{p.account_number} {p.kana}")


def transfer_prefill(request: Request, customer: SignedIn) -> dict[str, str]:
    """The transfer input's values from the link that opened it: ``?payee=<id>`` (a saved
    payee) or ``?bank_code=…&branch_code=…`` (the bank search)."""
    query = request.query_params
    chosen = query.get("payee", "")
    if chosen.isascii() and chosen.isdigit():
        try:
            return payees.payee(web(request).ctx, customer.customer_id, int(chosen)).form_values()
        except NotFound:
            return {}
    return {name: query[name][:16] for name in _PREFILLED if name in query}


def transfer_extras(request: Request, customer: SignedIn) -> dict[str, Any]:
    """What the transfer input shows beside the form: the saved payees to choose from and
    what is left of today's limit."""
    ctx = web(request).ctx
    saved = payees.payees_of(ctx, customer.customer_id)
    return {"payees": [(s.id, payee_label(s)) for s in saved],
            "daily_limit": payments.daily_limit(ctx, customer.customer_id)}


# --- 登録振込先 ----------------------------------------------------------------------------

def _not_found(request: Request) -> Response:
    return page(request, "message.html", title="エラー", error="ページが見つかりません。",
                next_href="/payees", next_label="戻る", status_code=404)


@router.get("/payees")
def payee_list(request: Request) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    saved = payees.payees_of(web(request).ctx, customer.customer_id)
    return page(request, "payees.html", title="登録振込先",
                payees=[(s.id, payee_label(s)) for s in saved], message=pop_notice(request))


def _save(request: Request, form: Form) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    try:
        payees.save_from_receipt(web(request).ctx, customer.customer_id,
                                 form.text("receipt_number"))
    except (NotFound, InvalidInput):
        return _not_found(request)
    except BankingError as refused:  # too many saved payees
        session(request).data["notice"] = next(iter(refused.errors.values()), "")
        return redirect("/payees")
    session(request).data["notice"] = "振込先を登録しました。"
    return redirect("/payees")


@router.post("/payees")
async def save_payee(request: Request) -> Response:
    return await posted(request, _save)


def _payee_or_none(request: Request, customer: SignedIn, payee_id: int) -> SavedPayee | None:
    try:
        return payees.payee(web(request).ctx, customer.customer_id, payee_id)
    except NotFound:
        return None


@router.get("/payees/{payee_id}/delete")
def confirm_delete(payee_id: int, request: Request) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    saved = _payee_or_none(request, customer, payee_id)
    if saved is None:
        return _not_found(request)
    return page(request, "form.html", title="登録振込先の削除", flow_title="登録振込先",
                intro=["次の振込先を削除します。よろしければ「削除する」を押してください。"],
                summary=[("振込先", payee_label(saved))], fields=[],
                action=f"/payees/{payee_id}/delete", submit="削除する", cancel="/payees",
                cancel_label="戻る")


@router.post("/payees/{payee_id}/delete")
async def delete_payee(payee_id: int, request: Request) -> Response:
    def handle(request: Request, form: Form) -> Response:
        customer = login_required(request)
        if isinstance(customer, Response):
            return customer
        try:
            payees.delete(web(request).ctx, customer.customer_id, payee_id)
        except NotFound:
            return _not_found(request)
        session(request).data["notice"] = "振込先を削除しました。"
        return redirect("/payees")
    return await posted(request, handle)


# --- the bank and branch search ------------------------------------------------------------

@router.get("/transfer/banks")
def bank_search(request: Request) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    query = request.query_params.get("q", "")[:40]
    chosen = bank(request.query_params.get("bank", ""))
    if chosen is None:
        results = [(f"/transfer/banks?bank={b.code}", f"{b.name} ({b.code})")
                   for b in search_banks(query)]
        return page(request, "banks.html", title="金融機関の検索", query=query,
                    bank=None, results=results)
    results = [(f"/transfer?bank_code={chosen.code}&branch_code={b.code}",
                f"{b.name} ({b.code})") for b in search_branches(chosen.code, query)]
    return page(request, "banks.html", title="支店の検索", query=query, bank=chosen,
                results=results)


# --- 振込限度額 ------------------------------------------------------------------------------

_RAISE_HINT = "引き上げる場合のみ入力してください。引き下げには不要です。"


def _limit_page(request: Request, customer: SignedIn, *, value: str = "",
                errors: dict[str, str] | None = None, error: str | None = None,
                message: str | None = None) -> Response:
    ctx = web(request).ctx
    limit = payments.daily_limit(ctx, customer.customer_id)
    errors = errors or {}
    if transactions.required_method(ctx, customer.customer_id) is Method.OTP:
        proof = Field("otp", "ワンタイムパスワード", kind="otp", hint=_RAISE_HINT,
                      error=errors.get("otp", ""))
    else:
        proof = Field("confirmation_password", "確認用パスワード", kind="password",
                      hint=_RAISE_HINT, error=errors.get("confirmation_password", ""))
    return page(
        request, "form.html", title="振込限度額の変更", flow_title="振込限度額",
        summary=[("現在の振込限度額 (1日あたり)", Yen(limit.daily_limit)),
                 ("本日のお振込額", Yen(limit.used_today)),
                 ("本日の振込可能額", Yen(limit.remaining))],
        intro=["振込限度額は、日本時間の0時から24時までのお振込の合計額の上限です。"
               "引き下げはそのまま、引き上げはワンタイムパスワード（ご利用でない方は確認用パスワード）"
               "の入力で変更できます。"],
        fields=[Field("daily_limit", "変更後の振込限度額 (1日あたり)", kind="amount",
                      hint="0円から10,000,000円まで。0円にするとお振込ができなくなります。",
                      value=value, error=errors.get("daily_limit", ""), maxlength=16),
                proof],
        action="/transfer/limit", submit="変更する", cancel="/transfer",
        cancel_label="戻る", error=error, message=message,
        status_code=422 if errors or error else 200)


@router.get("/transfer/limit")
def limit_form(request: Request) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    return _limit_page(request, customer, message=pop_notice(request))


def _change_limit(request: Request, form: Form) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    ctx = web(request).ctx
    typed = form.text("daily_limit")
    otp = transactions.required_method(ctx, customer.customer_id) is Method.OTP
    field = "otp" if otp else "confirmation_password"
    proof: Proof | None = None
    if form.filled(field):
        if otp:
            try:
                parse_code(form.text(field))
            except InvalidInput:
                return _limit_page(request, customer, value=typed, errors={
                    field: "ワンタイムパスワードは6桁の数字で入力してください。"})
        proof = form.code(field) if otp else form.password(field)
    try:
        transfer_limits.change_daily_limit(ctx, customer.customer_id, typed, proof)
    except FieldErrors as invalid:
        return _limit_page(request, customer, value=typed, errors=invalid.errors)
    except ProofRequired:
        return _limit_page(request, customer, value=typed, errors={field: (
            "振込限度額を引き上げるには、ワンタイムパスワードを入力してください。" if otp else
            "振込限度額を引き上げるには、確認用パスワードを入力してください。")})
    except KinkoError as failure:
        message = ("確認用パスワードが正しくありません。"
                   if failure.code == "wrong_password" else customer_message(failure))
        return _limit_page(request, customer, value=typed, error=message)
    session(request).data["notice"] = "振込限度額を変更しました。"
    return redirect("/transfer/limit")


@router.post("/transfer/limit")
async def change_limit(request: Request) -> Response:
    return await posted(request, _change_limit)
