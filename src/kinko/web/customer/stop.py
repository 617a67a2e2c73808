"""利用中止 (stop using the OTP): its steps as routes; the shared parts are in ``otp_flows``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.domain.errors import KinkoError
from kinko.services import stopping
from kinko.web import flows
from kinko.web.customer.common import (
    Form,
    posted,
    session,
    web,
)
from kinko.web.customer.otp_flows import (
    STOP,
    check_otp,
    check_required,
    credentials_post,
    done,
    flow_screen,
    flow_step,
    serial_row,
    start,
)
from kinko.web.errors import combined_step_message
from kinko.web.pages import Field, redirect

router = APIRouter(prefix="/otp")


# --- 利用中止 ------------------------------------------------------------------------

@router.get("/stop")
def stop_start(request: Request) -> Response:
    return start(request, STOP)


@router.post("/stop")
async def stop_credentials(request: Request) -> Response:
    return await posted(request, lambda r, f: credentials_post(
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
    flow = flow_step(request, STOP, "caution")
    if isinstance(flow, Response):
        return flow
    return flow_screen(request, STOP, "caution", fields=(), submit="中止手続きへ進む",
                       intro=STOP_CAUTION)


def _stop_caution(request: Request, form: Form) -> Response:
    flow = flow_step(request, STOP, "caution")
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
    flow = flow_step(request, STOP, "confirm")
    if isinstance(flow, Response):
        return flow
    return flow_screen(request, STOP, "confirm", fields=_stop_fields({}), submit="停止",
                       intro=STOP_CONFIRM_INTRO)


def _stop(request: Request, form: Form) -> Response:
    flow = flow_step(request, STOP, "confirm")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    check_otp(form, "otp", errors)
    check_required(form, "confirmation_password", errors)
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
    return flow_screen(request, STOP, "confirm", fields=_stop_fields(errors), submit="停止",
                       error=error, intro=STOP_CONFIRM_INTRO, status_code=422)


@router.post("/stop/confirm")
async def stop_confirm(request: Request) -> Response:
    return await posted(request, _stop)


@router.get("/stop/done")
def stop_done(request: Request) -> Response:
    return done(request, STOP, ["ワンタイムパスワードの利用を中止しました。",
                                 "これからはお取引の際に確認用パスワードをご利用ください。"],
                 serial_row("利用を中止したシリアル番号", request, STOP))
