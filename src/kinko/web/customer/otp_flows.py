"""利用開始, 利用中止 and 交換: the bank guide's steps, each a server-side state machine.

A step's POST is accepted only when the session's flow stands at that step; anything else
(skipping, repeating, replaying a finished flow, ten idle minutes) starts again with a note.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.domain.errors import Conflict, InvalidInput, KinkoError, NotFound
from kinko.domain.masking import mask_serial
from kinko.domain.provisioning import otpauth_uri
from kinko.domain.secrets import Seed
from kinko.domain.serials import parse_code, parse_contract_id, parse_serial
from kinko.services import enrollment, exchange, stopping
from kinko.web import flows
from kinko.web.customer.common import (
    Form,
    client_address,
    page,
    pop_notice,
    posted,
    refused,
    session,
    web,
)
from kinko.web.customer.settings import LOGIN_OTP_CHOICES, LOGIN_OTP_NOTE
from kinko.web.errors import combined_step_message, customer_message
from kinko.web.pages import Field, Step, redirect

router = APIRouter(prefix="/otp")


@dataclass(frozen=True)
class FlowSpec:
    name: str
    title: str
    steps: dict[str, Step]

    @property
    def start_url(self) -> str:
        return f"/otp/{self.name}"

    def url(self, step: str) -> str:
        return self.start_url if step == "credentials" else f"{self.start_url}/{step}"


#: The steps are numbered 1, 2, 3… as the customer meets them in each flow; the bank
#: guide's own numbers (②④⑤…, which count steps taken outside these screens) stay in the
#: docs and the services' docstrings.
CREDENTIALS = "契約者ID・ログインパスワードの入力"
ENROLL = FlowSpec("enroll", "ワンタイムパスワード利用開始", {
    "credentials": Step(1, CREDENTIALS),
    "token": Step(2, "シリアル番号・ワンタイムパスワードの入力"),
    "settings": Step(3, "ログイン時のワンタイムパスワード認証・確認用パスワードの入力"),
    "done": Step(4, "完了"),
})
STOP = FlowSpec("stop", "ワンタイムパスワード利用中止", {
    "credentials": Step(1, CREDENTIALS),
    "caution": Step(2, "利用中止の注意事項の確認"),
    "confirm": Step(3, "ワンタイムパスワード・確認用パスワードの入力"),
    "done": Step(4, "完了"),
})
EXCHANGE = FlowSpec("exchange", "ワンタイムパスワード交換", {
    "credentials": Step(1, CREDENTIALS),
    "old": Step(2, "現在お使いのトークンのワンタイムパスワードの入力"),
    "new": Step(3, "新しいトークンのシリアル番号・ワンタイムパスワードの入力"),
    "done": Step(4, "完了"),
})
#: What cancels a flow: never a word like 中止, which the 利用中止 flow's 停止 button is
#: easily mistaken for.
CANCEL = "キャンセル"

CONTRACT_ID_FORMAT = "契約者IDは10桁の数字で入力してください。"
OTP_FORMAT = "ワンタイムパスワードは6桁の数字で入力してください。"
REQUIRED = "入力してください。"


# --- validation of the plain inputs, before any service is called ---------------------

def _check_contract_id(form: Form, errors: dict[str, str]) -> None:
    try:
        parse_contract_id(form.text("contract_id"))
    except InvalidInput:
        errors["contract_id"] = CONTRACT_ID_FORMAT


def _check_required(form: Form, name: str, errors: dict[str, str]) -> None:
    if not form.filled(name):
        errors[name] = REQUIRED


def _check_otp(form: Form, name: str, errors: dict[str, str]) -> None:
    try:
        parse_code(form.text(name))
    except InvalidInput:
        errors[name] = OTP_FORMAT


def _check_serial(form: Form, errors: dict[str, str]) -> None:
    try:
        parse_serial(form.text("serial"))
    except InvalidInput as error:
        errors["serial"] = ("シリアル番号に誤りがあります。ご確認ください。"
                            if "check digit" in str(error)
                            else "シリアル番号は12桁の数字で入力してください。")


# --- screens -------------------------------------------------------------------------

def _screen(request: Request, spec: FlowSpec, step: str, *, fields: Sequence[Field],
            submit: str, error: str | None = None, message: str | None = None,
            intro: Sequence[str] = (), status_code: int = 200,
            alt_link: tuple[str, str] | None = None) -> Response:
    return page(
        request, "form.html", title=spec.title, flow_title=spec.title,
        step=spec.steps[step], steps=list(spec.steps.values()), action=spec.url(step),
        fields=fields, submit=submit, error=error, message=message, intro=list(intro),
        cancel="/login", cancel_label=CANCEL, status_code=status_code, alt_link=alt_link,
    )


def _credentials_fields(form: Form | None, errors: dict[str, str]) -> list[Field]:
    return [
        Field("contract_id", "契約者ID", kind="digits", hint="10桁の数字",
              value=form.text("contract_id") if form else "",
              error=errors.get("contract_id", ""), autocomplete="username", maxlength=20),
        Field("login_password", "ログインパスワード", kind="password",
              error=errors.get("login_password", "")),
    ]


def _serial_otp_fields(form: Form | None, errors: dict[str, str]) -> list[Field]:
    return [
        Field("serial", "シリアル番号", kind="digits",
              hint="12桁の数字 (トークンのワンタイムパスワードの下に表示)",
              value=form.text("serial") if form else "", error=errors.get("serial", ""),
              maxlength=24),
        Field("otp", "ワンタイムパスワード", kind="otp", error=errors.get("otp", "")),
    ]


def _interrupted(request: Request, spec: FlowSpec, interruption: flows.FlowInterrupted,
                 ) -> Response:
    session(request).data["notice"] = interruption.message
    return redirect(spec.start_url)


def _step(request: Request, spec: FlowSpec, step: str) -> flows.Flow | Response:
    try:
        return flows.expect(session(request), spec.name, step, web(request).now())
    except flows.FlowInterrupted as interruption:
        return _interrupted(request, spec, interruption)


def _start(request: Request, spec: FlowSpec, intro: Sequence[str] = ()) -> Response:
    notice = pop_notice(request)
    flows.start(session(request), spec.name, "credentials", web(request).now())
    return _screen(request, spec, "credentials", fields=_credentials_fields(None, {}),
                   submit="次へ", message=notice, intro=intro)


def _credentials_post(
    request: Request, form: Form, spec: FlowSpec, begin: Callable[..., object], next_step: str,
    intro: Sequence[str] = (),
) -> Response:
    flow = _step(request, spec, "credentials")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    _check_contract_id(form, errors)
    _check_required(form, "login_password", errors)
    error: str | None = None
    failure: KinkoError | None = None
    if not errors:
        w = web(request)
        try:
            started = begin(w.ctx, form.text("contract_id"), form.password("login_password"),
                            client_address=client_address(request))
        except Conflict:
            error = ("すでにワンタイムパスワードをご利用中です。" if spec is ENROLL
                     else "ワンタイムパスワードをご利用ではありません。")
        except KinkoError as refusal:
            failure, error = refusal, customer_message(refusal)
        else:
            flows.advance(session(request), flow, next_step, w.now(), started)
            return redirect(spec.url(next_step))
    screen = _screen(request, spec, "credentials", fields=_credentials_fields(form, errors),
                     submit="次へ", error=error, intro=intro, status_code=422)
    return refused(screen, failure) if failure else screen


def _done(request: Request, spec: FlowSpec, lines: Sequence[str],
          summary: Sequence[tuple[str, object]] = ()) -> Response:
    if flows.finished(session(request), spec.name) is None:
        return redirect("/login")
    return page(request, "done.html", title=spec.title, flow_title=spec.title,
                step=spec.steps["done"], lines=list(lines), summary=list(summary),
                next_href="/login", next_label="ログイン画面へ戻る")


def _serial_row(label: str, request: Request, spec: FlowSpec) -> list[tuple[str, object]]:
    """The serial the finished flow registered (or stopped), masked as in the notices."""
    shown = flows.finished(session(request), spec.name) or {}
    serial = shown.get("serial")
    return [(label, mask_serial(serial))] if serial else []


# --- 利用開始 ------------------------------------------------------------------------

@router.get("/enroll")
def enroll_start(request: Request) -> Response:
    return _start(request, ENROLL)


@router.post("/enroll")
async def enroll_credentials(request: Request) -> Response:
    return await posted(request, lambda r, f: _credentials_post(
        r, f, ENROLL, enrollment.begin, "token"))


def _enroll_token_screen(request: Request, form: Form | None = None,
                         errors: dict[str, str] | None = None, error: str | None = None,
                         ) -> Response:
    return _screen(request, ENROLL, "token", fields=_serial_otp_fields(form, errors or {}),
                   submit="次へ", error=error, status_code=422 if errors or error else 200,
                   alt_link=_app_link(request, ENROLL))


@router.get("/enroll/token")
def enroll_token_form(request: Request) -> Response:
    flow = _step(request, ENROLL, "token")
    return flow if isinstance(flow, Response) else _enroll_token_screen(request)


def _enroll_token(request: Request, form: Form) -> Response:
    flow = _step(request, ENROLL, "token")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    _check_serial(form, errors)
    _check_otp(form, "otp", errors)
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
    flow = _step(request, ENROLL, "settings")
    if isinstance(flow, Response):
        return flow
    return _screen(request, ENROLL, "settings", fields=_settings_fields(None, {}),
                   submit="登録", intro=[LOGIN_OTP_NOTE])


def _enroll_register(request: Request, form: Form) -> Response:
    flow = _step(request, ENROLL, "settings")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    if form.text("login_otp") not in ("yes", "no"):
        errors["login_otp"] = "選択してください。"
    _check_required(form, "confirmation_password", errors)
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
    return _screen(request, ENROLL, "settings", fields=_settings_fields(form, errors),
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
    return _done(request, ENROLL, lines, _serial_row("ご登録のシリアル番号", request, ENROLL))


# --- 利用中止 ------------------------------------------------------------------------

@router.get("/stop")
def stop_start(request: Request) -> Response:
    return _start(request, STOP)


@router.post("/stop")
async def stop_credentials(request: Request) -> Response:
    return await posted(request, lambda r, f: _credentials_post(
        r, f, STOP, stopping.begin, "caution"))


#: The bank guide's caution, on its own screen before any code is asked for: stopping
#: weakens the protection of the customer's transactions.
STOP_CAUTION = (
    "ワンタイムパスワードの利用を中止すると、お振込などのお取引には確認用パスワードを使います。",
    "確認用パスワードは、ワンタイムパスワードより安全性が低くなります。"
    "スマートフォンを機種変更する場合は、利用中止ではなく「交換」をご利用ください。",
    "利用中止の手続きを続けますか。",
)


@router.get("/stop/caution")
def stop_caution_form(request: Request) -> Response:
    flow = _step(request, STOP, "caution")
    if isinstance(flow, Response):
        return flow
    return _screen(request, STOP, "caution", fields=(), submit="中止手続きへ進む",
                   intro=STOP_CAUTION)


def _stop_caution(request: Request, form: Form) -> Response:
    flow = _step(request, STOP, "caution")
    if isinstance(flow, Response):
        return flow
    flows.advance(session(request), flow, "confirm", web(request).now())
    return redirect(STOP.url("confirm"))


@router.post("/stop/caution")
async def stop_caution(request: Request) -> Response:
    return await posted(request, _stop_caution)


STOP_CONFIRM_INTRO = ("「停止」を押すと、ワンタイムパスワードの利用を中止します。",)


def _stop_fields(errors: dict[str, str]) -> list[Field]:
    return [
        Field("otp", "ワンタイムパスワード", kind="otp", error=errors.get("otp", "")),
        Field("confirmation_password", "確認用パスワード", kind="password",
              error=errors.get("confirmation_password", "")),
    ]


@router.get("/stop/confirm")
def stop_confirm_form(request: Request) -> Response:
    flow = _step(request, STOP, "confirm")
    if isinstance(flow, Response):
        return flow
    return _screen(request, STOP, "confirm", fields=_stop_fields({}), submit="停止",
                   intro=STOP_CONFIRM_INTRO)


def _stop(request: Request, form: Form) -> Response:
    flow = _step(request, STOP, "confirm")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    _check_otp(form, "otp", errors)
    _check_required(form, "confirmation_password", errors)
    error = None
    if not errors:
        w = web(request)
        started = flow.proven(stopping.StopStarted)
        try:
            stopping.stop(w.ctx, started, form.code("otp"),
                          form.password("confirmation_password"))
        except KinkoError as failure:
            error = combined_step_message(failure)
        else:
            flows.finish(session(request), flow, w.now(), serial=started.serial)
            return redirect(STOP.url("done"))
    return _screen(request, STOP, "confirm", fields=_stop_fields(errors), submit="停止",
                   error=error, intro=STOP_CONFIRM_INTRO, status_code=422)


@router.post("/stop/confirm")
async def stop_confirm(request: Request) -> Response:
    return await posted(request, _stop)


@router.get("/stop/done")
def stop_done(request: Request) -> Response:
    return _done(request, STOP, ["ワンタイムパスワードの利用を中止しました。",
                                 "これからはお取引の際に確認用パスワードをご利用ください。"],
                 _serial_row("利用を中止したシリアル番号", request, STOP))


# --- 交換 ----------------------------------------------------------------------------

EXCHANGE_INTRO = (
    "新しいスマートフォンにアプリをインストールしてから、お手続きを始めてください。",
    "次の画面では、現在お使いのトークンに表示されているワンタイムパスワードを入力します。"
    "その次の画面で、新しいトークンのシリアル番号とワンタイムパスワードを入力します。",
    "交換が完了するまで、現在のトークンは引き続きご利用いただけます。",
)


@router.get("/exchange")
def exchange_start(request: Request) -> Response:
    return _start(request, EXCHANGE, EXCHANGE_INTRO)


@router.post("/exchange")
async def exchange_credentials(request: Request) -> Response:
    return await posted(request, lambda r, f: _credentials_post(
        r, f, EXCHANGE, exchange.begin, "old", EXCHANGE_INTRO))


def _old_screen(request: Request, errors: dict[str, str] | None = None,
                error: str | None = None) -> Response:
    errors = errors or {}
    return _screen(request, EXCHANGE, "old", submit="次へ", error=error,
                   fields=[Field("otp", "ワンタイムパスワード", kind="otp",
                                 error=errors.get("otp", ""))],
                   status_code=422 if errors or error else 200)


@router.get("/exchange/old")
def exchange_old_form(request: Request) -> Response:
    flow = _step(request, EXCHANGE, "old")
    return flow if isinstance(flow, Response) else _old_screen(request)


def _exchange_old(request: Request, form: Form) -> Response:
    flow = _step(request, EXCHANGE, "old")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    _check_otp(form, "otp", errors)
    if errors:
        return _old_screen(request, errors)
    w = web(request)
    try:
        confirmed = exchange.confirm_old_token(
            w.ctx, flow.proven(exchange.ExchangeStarted), form.code("otp"))
    except KinkoError as failure:
        return _old_screen(request, error=customer_message(failure))
    flows.advance(session(request), flow, "new", w.now(), confirmed)
    return redirect(EXCHANGE.url("new"))


@router.post("/exchange/old")
async def exchange_old(request: Request) -> Response:
    return await posted(request, _exchange_old)


def _new_screen(request: Request, form: Form | None = None,
                errors: dict[str, str] | None = None, error: str | None = None) -> Response:
    return _screen(request, EXCHANGE, "new", fields=_serial_otp_fields(form, errors or {}),
                   submit="登録", error=error, status_code=422 if errors or error else 200,
                   alt_link=_app_link(request, EXCHANGE))


@router.get("/exchange/new")
def exchange_new_form(request: Request) -> Response:
    flow = _step(request, EXCHANGE, "new")
    return flow if isinstance(flow, Response) else _new_screen(request)


def _exchange_new(request: Request, form: Form) -> Response:
    flow = _step(request, EXCHANGE, "new")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    _check_serial(form, errors)
    _check_otp(form, "otp", errors)
    if errors:
        return _new_screen(request, form, errors)
    w = web(request)
    try:
        token = exchange.register_new_token(w.ctx, flow.proven(exchange.OldTokenConfirmed),
                                            form.text("serial"), form.code("otp"))
    except KinkoError as failure:
        return _new_screen(request, form, error=customer_message(failure))
    flows.finish(session(request), flow, w.now(), serial=token.serial)
    return redirect(EXCHANGE.url("done"))


@router.post("/exchange/new")
async def exchange_new(request: Request) -> Response:
    return await posted(request, _exchange_new)


@router.get("/exchange/done")
def exchange_done(request: Request) -> Response:
    return _done(request, EXCHANGE, ["ソフトウェアトークンの交換が完了しました。",
                                     "これからは新しいトークンのワンタイムパスワードをご利用ください。"],
                 _serial_row("新しいトークンのシリアル番号", request, EXCHANGE))


# --- another authenticator app (bank policy: KINKO_THIRD_PARTY_APPS) -------------------

#: The step at which each flow takes the new token, and what follows a good code there.
APP_STEPS = {"enroll": (ENROLL, "token"), "exchange": (EXCHANGE, "new")}


def _app_link(request: Request, spec: FlowSpec) -> tuple[str, str] | None:
    if not web(request).kinko.settings.third_party_apps:
        return None
    return f"{spec.start_url}/app", "他の認証アプリ (Google Authenticator など) を使う"


def _app_token(request: Request, spec: FlowSpec, flow: flows.Flow) -> tuple[str, Seed]:
    """The token issued for the customer's authenticator app in this flow (once)."""
    w = web(request)
    serial = flow.extra.get("app_serial")
    if serial is None:
        contract_id = flow.proof["contract_id"]
        issued = enrollment.issue_for_authenticator_app(w.ctx, contract_id)
        flows.remember(session(request), flow, w.now(), app_serial=issued.token.serial)
        return issued.token.serial, issued.seed
    with w.ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
        if token is None:
            raise NotFound()
        return serial, uow.tokens.seed(token)


def _app_page(request: Request, spec: FlowSpec, step: str, flow: flows.Flow, *,
              error: str | None = None, field_error: str = "",
              status_code: int = 200) -> Response:
    serial, seed = _app_token(request, spec, flow)
    settings = web(request).kinko.settings
    with web(request).ctx.uow() as uow:
        token = uow.tokens.by_serial(serial)
    params = token.params if token else web(request).ctx.policy.totp
    uri = otpauth_uri(serial, seed, params, issuer=settings.bank_name)
    secret = base64.b32encode(seed.reveal()).decode("ascii").rstrip("=")
    return page(
        request, "authenticator.html", title=spec.title, flow_title=spec.title,
        step=spec.steps[step], qr=segno.make(uri, error="m").svg_data_uri(scale=5),
        secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)), serial=serial,
        action=f"{spec.start_url}/app", back=spec.url(step), submit="次へ" if spec is ENROLL
        else "登録", fields=[Field("otp", "ワンタイムパスワード", kind="otp", error=field_error)],
        error=error, status_code=status_code,
    )


def _app_form(name: str) -> Callable[[Request], Response]:
    spec, step = APP_STEPS[name]

    def show(request: Request) -> Response:
        if not web(request).kinko.settings.third_party_apps:
            return redirect(spec.url(step))
        flow = _step(request, spec, step)
        if isinstance(flow, Response):
            return flow
        return _app_page(request, spec, step, flow)
    return show


def _app_post(name: str) -> Callable[[Request, Form], Response]:
    spec, step = APP_STEPS[name]

    def handle(request: Request, form: Form) -> Response:
        flow = _step(request, spec, step)
        if isinstance(flow, Response):
            return flow
        serial = flow.extra.get("app_serial")
        if not web(request).kinko.settings.third_party_apps or serial is None:
            return redirect(spec.url(step))
        errors: dict[str, str] = {}
        _check_otp(form, "otp", errors)
        if errors:
            return _app_page(request, spec, step, flow, field_error=errors["otp"],
                             status_code=422)
        w = web(request)
        try:
            if spec is ENROLL:
                confirmed = enrollment.confirm_token(
                    w.ctx, flow.proven(enrollment.EnrollmentStarted), serial, form.code("otp"))
                flows.advance(session(request), flow, "settings", w.now(), confirmed)
                return redirect(ENROLL.url("settings"))
            exchange.register_new_token(w.ctx, flow.proven(exchange.OldTokenConfirmed),
                                        serial, form.code("otp"))
        except KinkoError as failure:
            return _app_page(request, spec, step, flow, error=customer_message(failure),
                             status_code=422)
        flows.finish(session(request), flow, w.now(), serial=serial)
        return redirect(EXCHANGE.url("done"))
    return handle


def _app_route(name: str) -> Callable[[Request], Awaitable[Response]]:
    handler = _app_post(name)

    async def route(request: Request) -> Response:
        return await posted(request, handler)
    return route


for _name in APP_STEPS:
    router.add_api_route(f"/{_name}/app", _app_form(_name), methods=["GET"])
    router.add_api_route(f"/{_name}/app", _app_route(_name), methods=["POST"])
