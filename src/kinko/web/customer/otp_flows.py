"""利用開始, 利用中止 and 交換: what the bank guide's three flows share — the flow specs and
their numbered steps, the checks of plain inputs, and the screens' building blocks.

Each flow's routes are a module of their own (``enroll``, ``stop``, ``exchange``, and
``authenticator_app`` for another authenticator app); a step's POST is accepted only when
the session's flow stands at that step; anything else (skipping, repeating, replaying a
finished flow, ten idle minutes) starts again with a note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from kinko.domain.errors import Conflict, InvalidInput, KinkoError
from kinko.domain.masking import mask_serial
from kinko.domain.serials import parse_code, parse_contract_id, parse_serial
from kinko.web import flows
from kinko.web.customer.common import (
    Form,
    client_address,
    page,
    pop_notice,
    refused,
    session,
    web,
)
from kinko.web.errors import customer_message
from kinko.web.pages import Field, Step, redirect


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

def check_contract_id(form: Form, errors: dict[str, str]) -> None:
    try:
        parse_contract_id(form.text("contract_id"))
    except InvalidInput:
        errors["contract_id"] = CONTRACT_ID_FORMAT


def check_required(form: Form, name: str, errors: dict[str, str]) -> None:
    if not form.filled(name):
        errors[name] = REQUIRED


def check_otp(form: Form, name: str, errors: dict[str, str]) -> None:
    try:
        parse_code(form.text(name))
    except InvalidInput:
        errors[name] = OTP_FORMAT


def check_serial(form: Form, errors: dict[str, str]) -> None:
    try:
        parse_serial(form.text("serial"))
    except InvalidInput as error:
        errors["serial"] = ("シリアル番号に誤りがあります。ご確認ください。"
                            if "check digit" in str(error)
                            else "シリアル番号は12桁の数字で入力してください。")


# --- screens -------------------------------------------------------------------------

def flow_screen(request: Request, spec: FlowSpec, step: str, *, fields: Sequence[Field],
                submit: str, error: str | None = None, message: str | None = None,
                intro: Sequence[str] = (), status_code: int = 200,
                alt_link: tuple[str, str] | None = None) -> Response:
    return page(
        request, "form.html", title=spec.title, flow_title=spec.title,
        step=spec.steps[step], steps=list(spec.steps.values()), action=spec.url(step),
        fields=fields, submit=submit, error=error, message=message, intro=list(intro),
        cancel="/login", cancel_label=CANCEL, status_code=status_code, alt_link=alt_link,
    )


def credentials_fields(form: Form | None, errors: dict[str, str]) -> list[Field]:
    return [
        Field("contract_id", "契約者ID", kind="digits", hint="10桁の数字",
              value=form.text("contract_id") if form else "",
              error=errors.get("contract_id", ""), autocomplete="username", maxlength=20),
        Field("login_password", "ログインパスワード", kind="password",
              error=errors.get("login_password", "")),
    ]


def serial_otp_fields(form: Form | None, errors: dict[str, str]) -> list[Field]:
    return [
        Field("serial", "シリアル番号", kind="digits",
              hint="12桁の数字 (トークンのワンタイムパスワードの下に表示)",
              value=form.text("serial") if form else "", error=errors.get("serial", ""),
              maxlength=24),
        Field("otp", "ワンタイムパスワード", kind="otp", error=errors.get("otp", "")),
    ]


def interrupted(request: Request, spec: FlowSpec, interruption: flows.FlowInterrupted,
                ) -> Response:
    session(request).data["notice"] = interruption.message
    return redirect(spec.start_url)


def flow_step(request: Request, spec: FlowSpec, step: str) -> flows.Flow | Response:
    try:
        return flows.expect(session(request), spec.name, step, web(request).now())
    except flows.FlowInterrupted as interruption:
        return interrupted(request, spec, interruption)


def start(request: Request, spec: FlowSpec, intro: Sequence[str] = ()) -> Response:
    notice = pop_notice(request)
    flows.start(session(request), spec.name, "credentials", web(request).now())
    return flow_screen(request, spec, "credentials", fields=credentials_fields(None, {}),
                       submit="次へ", message=notice, intro=intro)


def credentials_post(
    request: Request, form: Form, spec: FlowSpec, begin: Callable[..., object], next_step: str,
    intro: Sequence[str] = (),
) -> Response:
    flow = flow_step(request, spec, "credentials")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    check_contract_id(form, errors)
    check_required(form, "login_password", errors)
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
    screen = flow_screen(request, spec, "credentials", fields=credentials_fields(form, errors),
                         submit="次へ", error=error, intro=intro, status_code=422)
    return refused(screen, failure) if failure else screen


def done(request: Request, spec: FlowSpec, lines: Sequence[str],
         summary: Sequence[tuple[str, object]] = ()) -> Response:
    if flows.finished(session(request), spec.name) is None:
        return redirect("/login")
    return page(request, "done.html", title=spec.title, flow_title=spec.title,
                step=spec.steps["done"], lines=list(lines), summary=list(summary),
                next_href="/login", next_label="ログイン画面へ戻る")


def serial_row(label: str, request: Request, spec: FlowSpec) -> list[tuple[str, object]]:
    """The serial the finished flow registered (or stopped), masked as in the notices."""
    shown = flows.finished(session(request), spec.name) or {}
    serial = shown.get("serial")
    return [(label, mask_serial(serial))] if serial else []
