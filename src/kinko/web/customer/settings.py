"""After login: the login-OTP setting (changing it needs the OTP) and the OTP history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.domain.errors import InvalidInput, KinkoError
from kinko.domain.events import Action
from kinko.domain.serials import parse_code
from kinko.services import customers, transactions
from kinko.services.transactions import Method
from kinko.web.customer.common import Form, login_required, page, pop_notice, posted, session, web
from kinko.web.errors import customer_message
from kinko.web.pages import Field, redirect

router = APIRouter()

HISTORY_LABELS: dict[tuple[Action, str | None], str] = {
    (Action.TOKEN_BOUND, "enroll"): "登録 (利用開始)",
    (Action.TOKEN_BOUND, "exchange"): "登録 (交換)",
    (Action.TOKEN_EXCHANGED, "exchanged_out"): "交換により停止",
    (Action.TOKEN_STOPPED, "stop"): "利用中止",
    (Action.TOKEN_LOCKED, None): "ロック",
    (Action.TOKEN_UNLOCKED, None): "ロック解除",
    (Action.TOKEN_SUSPENDED, None): "利用停止 (当金庫)",
    (Action.TOKEN_RESUMED, None): "利用再開 (当金庫)",
    (Action.TOKEN_REVOKED, None): "失効 (当金庫)",
    (Action.LOGIN_OTP_CHANGED, None): "ログイン時認証の変更",
}


def _settings_page(request: Request, *, error: str | None = None, field_error: str = "",
                   choice: str = "", message: str | None = None,
                   status_code: int = 200) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    w = web(request)
    if transactions.required_method(w.ctx, customer.customer_id) is not Method.OTP:
        return page(request, "message.html", title="ワンタイムパスワード設定",
                    message="ワンタイムパスワードをご利用の場合に設定できます。",
                    next_href="/home", next_label="ホームへ戻る")
    current = customers.get_customer(w.ctx, customer.contract_id).login_otp_required
    return page(
        request, "form.html", title="ワンタイムパスワード設定", action="/settings/otp",
        submit="変更する", error=error, message=message, cancel="/home",
        cancel_label="戻る",
        summary=[("現在の設定", "する" if current else "しない")],
        fields=[
            Field("login_otp", "ログイン時のワンタイムパスワード認証", kind="radio",
                  options=[("yes", "する"), ("no", "しない")],
                  value=choice or ("yes" if current else "no")),
            Field("otp", "ワンタイムパスワード", kind="otp", error=field_error),
        ],
        status_code=status_code,
    )


@router.get("/settings/otp")
def settings_form(request: Request) -> Response:
    return _settings_page(request, message=pop_notice(request))


def _change(request: Request, form: Form) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    choice = form.text("login_otp")
    if choice not in ("yes", "no"):
        return _settings_page(request, error="選択してください。", status_code=422)
    try:
        parse_code(form.text("otp"))
    except InvalidInput:
        return _settings_page(request, choice=choice, status_code=422,
                              field_error="ワンタイムパスワードは6桁の数字で入力してください。")
    try:
        customers.set_login_otp(web(request).ctx, customer.customer_id,
                                required=choice == "yes", code=form.code("otp"))
    except KinkoError as failure:
        return _settings_page(request, choice=choice, error=customer_message(failure),
                              status_code=422)
    session(request).data["notice"] = "設定を変更しました。"
    return redirect("/settings/otp")


@router.post("/settings/otp")
async def change_settings(request: Request) -> Response:
    return await posted(request, _change)


@router.get("/otp/history")
def history(request: Request) -> Response:
    customer = login_required(request)
    if isinstance(customer, Response):
        return customer
    w = web(request)
    with w.ctx.uow() as uow:
        events = uow.audit.recent(limit=500, contract_id=customer.contract_id)
    rows = []
    for event in events:
        label = (HISTORY_LABELS.get((event.action, event.reason))
                 or HISTORY_LABELS.get((event.action, None)))
        if label is None or event.outcome != "success":
            continue
        rows.append({"at": event.occurred_at, "label": label, "serial": event.serial or "",
                     "detail": _history_detail(event.action, event.reason)})
    return page(request, "history.html", title="ワンタイムパスワード履歴", rows=rows[:50])


def _history_detail(action: Action, reason: str | None) -> str:
    if action is Action.LOGIN_OTP_CHANGED:
        return "する" if reason == "on" else "しない"
    return ""
