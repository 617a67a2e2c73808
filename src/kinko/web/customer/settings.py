"""After login: the login-OTP setting (changing it needs the OTP) and the OTP history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.domain.errors import InvalidInput, KinkoError
from kinko.domain.events import Action, AuditEvent, Outcome
from kinko.domain.serials import parse_code
from kinko.services import customers, transactions
from kinko.services.transactions import Method
from kinko.web.customer.common import Form, login_required, page, pop_notice, posted, session, web
from kinko.web.errors import customer_message
from kinko.web.pages import Field, redirect

router = APIRouter()

#: ログイン時のワンタイムパスワード認証: each choice says what it means, here and in 利用開始.
LOGIN_OTP_CHOICES = [("yes", "する (ログイン時にもワンタイムパスワードを入力する)"),
                     ("no", "しない (ログイン時はログインパスワードのみ)")]
#: Whatever the choice, transactions take the OTP: the setting is about login only.
LOGIN_OTP_NOTE = "お振込などのお取引には、この設定にかかわらずワンタイムパスワードが必要です。"

#: The OTP history's words for each lifecycle event (by action and reason; reason None:
#: any reason).
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
    (Action.TOKEN_RESYNCED, None): "時刻補正 (当金庫)",
    (Action.LOGIN_OTP_CHANGED, None): "ログイン時認証の変更",
}
#: What an accepted code was used for (the purpose its check was audited with).
USE_LABELS: dict[str, str] = {
    "login": "ログイン", "transfer": "振込", "bill_payment": "収納サービス",
    "transaction": "お取引",
}
#: Why a code was refused (the refusal's error code), in the customer's words.
REFUSAL_LABELS: dict[str, str] = {
    "wrong_code": "ワンタイムパスワードの誤り", "replayed_code": "使用済みのワンタイムパスワード",
    "token_locked": "ロック中", "token_suspended": "利用停止中",
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
        intro=[LOGIN_OTP_NOTE],
        summary=[("ログイン時のワンタイムパスワード認証 (現在の設定)",
                  dict(LOGIN_OTP_CHOICES)["yes" if current else "no"])],
        fields=[
            Field("login_otp", "ログイン時のワンタイムパスワード認証", kind="radio",
                  options=LOGIN_OTP_CHOICES, value=choice or ("yes" if current else "no")),
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
    events = customers.otp_history(web(request).ctx, customer.contract_id)
    rows = [row for row in map(_history_row, events) if row is not None]
    return page(request, "history.html", title="ワンタイムパスワード履歴", rows=rows)


def _history_row(event: AuditEvent) -> dict[str, object] | None:
    """One line of the OTP history: when, what (and why, for a refused code), which token."""
    label: str | None
    detail = ""
    if event.action is Action.TOKEN_CODE_CHECKED:
        if event.outcome is Outcome.SUCCESS:
            label = "ワンタイムパスワード認証"
            detail = USE_LABELS.get(event.reason or "", "お取引")
        else:
            label = "認証失敗"
            detail = REFUSAL_LABELS.get(event.reason or "", "利用できないトークン")
    else:
        label = (HISTORY_LABELS.get((event.action, event.reason))
                 or HISTORY_LABELS.get((event.action, None)))
        if event.action is Action.LOGIN_OTP_CHANGED:
            detail = "する" if event.reason == "on" else "しない"
    if label is None:
        return None
    return {"at": event.occurred_at, "label": label, "detail": detail,
            "failed": event.outcome is Outcome.FAILURE, "serial": event.serial or ""}
