"""利用開始 (start using the OTP): its steps as routes; the shared parts are in ``otp_flows``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.domain.errors import KinkoError
from kinko.services import enrollment
from kinko.web import flows
from kinko.web.customer.authenticator_app import app_link
from kinko.web.customer.common import (
    Form,
    posted,
    session,
    web,
)
from kinko.web.customer.otp_flows import (
    ENROLL,
    check_otp,
    check_required,
    check_serial,
    credentials_post,
    done,
    flow_screen,
    flow_step,
    serial_otp_fields,
    serial_row,
    start,
)
from kinko.web.customer.settings import LOGIN_OTP_CHOICES, LOGIN_OTP_NOTE
from kinko.web.errors import customer_message
from kinko.web.pages import Field, redirect

router = APIRouter(prefix="/otp")


# --- 利用開始 ------------------------------------------------------------------------

@router.get("/enroll")
def enroll_start(request: Request) -> Response:
    return start(request, ENROLL)


@router.post("/enroll")
async def enroll_credentials(request: Request) -> Response:
    return await posted(request, lambda r, f: credentials_post(
        r, f, ENROLL, enrollment.begin, "token"))


def _enroll_token_screen(request: Request, form: Form | None = None,
                         errors: dict[str, str] | None = None, error: str | None = None,
                         ) -> Response:
    return flow_screen(request, ENROLL, "token", fields=serial_otp_fields(form, errors or {}),
                       submit="次へ", error=error, status_code=422 if errors or error else 200,
                       alt_link=app_link(request, ENROLL))


@router.get("/enroll/token")
def enroll_token_form(request: Request) -> Response:
    flow = flow_step(request, ENROLL, "token")
    return flow if isinstance(flow, Response) else _enroll_token_screen(request)


def _enroll_token(request: Request, form: Form) -> Response:
    flow = flow_step(request, ENROLL, "token")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    check_serial(form, errors)
    check_otp(form, "otp", errors)
    if errors:
        return _enroll_token_screen(request, form, errors)
    w = web(request)
    try:
        confirmed = enrollment.confirm_token(
            w.ctx, flow.proven(enrollment.EnrollmentStarted), form.text("serial"),
            form.code("otp"))
    except KinkoError as failure:
        return _enroll_token_screen(request, form, error=customer_message(failure))
    flows.advance(session(request), flow, "settings", w.now(), confirmed)
    return redirect(ENROLL.url("settings"))


@router.post("/enroll/token")
async def enroll_token(request: Request) -> Response:
    return await posted(request, _enroll_token)


def _settings_fields(form: Form | None, errors: dict[str, str]) -> list[Field]:
    return [
        Field("login_otp", "ログイン時のワンタイムパスワード認証", kind="radio",
              options=LOGIN_OTP_CHOICES,
              value=form.text("login_otp") if form else "", error=errors.get("login_otp", "")),
        Field("confirmation_password", "確認用パスワード", kind="password",
              error=errors.get("confirmation_password", "")),
    ]


@router.get("/enroll/settings")
def enroll_settings_form(request: Request) -> Response:
    flow = flow_step(request, ENROLL, "settings")
    if isinstance(flow, Response):
        return flow
    return flow_screen(request, ENROLL, "settings", fields=_settings_fields(None, {}),
                       submit="登録", intro=[LOGIN_OTP_NOTE])


def _enroll_register(request: Request, form: Form) -> Response:
    flow = flow_step(request, ENROLL, "settings")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    if form.text("login_otp") not in ("yes", "no"):
        errors["login_otp"] = "選択してください。"
    check_required(form, "confirmation_password", errors)
    error = None
    if not errors:
        w = web(request)
        try:
            token = enrollment.register(
                w.ctx, flow.proven(enrollment.EnrollmentTokenConfirmed),
                login_otp_required=form.text("login_otp") == "yes",
                confirmation_password=form.password("confirmation_password"))
        except KinkoError as failure:
            error = ("確認用パスワードが正しくありません。"
                     if failure.code == "wrong_password" else customer_message(failure))
        else:
            flows.finish(session(request), flow, w.now(), serial=token.serial,
                         login_otp=form.text("login_otp") == "yes")
            return redirect(ENROLL.url("done"))
    return flow_screen(request, ENROLL, "settings", fields=_settings_fields(form, errors),
                       submit="登録", error=error, intro=[LOGIN_OTP_NOTE], status_code=422)


@router.post("/enroll/settings")
async def enroll_register(request: Request) -> Response:
    return await posted(request, _enroll_register)


@router.get("/enroll/done")
def enroll_done(request: Request) -> Response:
    lines = ["ワンタイムパスワードの利用を開始しました。",
             "これからはお振込などのお取引の際にワンタイムパスワードが必要です。"]
    if (flows.finished(session(request), ENROLL.name) or {}).get("login_otp"):
        lines.append("ログイン時にもワンタイムパスワードが必要です。")
    return done(request, ENROLL, lines, serial_row("ご登録のシリアル番号", request, ENROLL))
