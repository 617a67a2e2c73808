"""交換 (exchange to a new token): its steps as routes; the shared parts are in ``otp_flows``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.domain.errors import KinkoError
from kinko.services import exchange
from kinko.web import flows
from kinko.web.customer.authenticator_app import app_link
from kinko.web.customer.common import (
    Form,
    posted,
    session,
    web,
)
from kinko.web.customer.otp_flows import (
    EXCHANGE,
    check_otp,
    check_serial,
    credentials_post,
    done,
    flow_screen,
    flow_step,
    serial_otp_fields,
    serial_row,
    start,
)
from kinko.web.errors import customer_message
from kinko.web.pages import Field, redirect

router = APIRouter(prefix="/otp")


# --- 交換 ----------------------------------------------------------------------------

EXCHANGE_INTRO = (
    "新しいスマートフォンにアプリをインストールしてから、お手続きを始めてください。",
    "次の画面では、現在お使いのトークンに表示されているワンタイムパスワードを入力します。"
    "その次の画面で、新しいトークンのシリアル番号とワンタイムパスワードを入力します。",
    "交換が完了するまで、現在のトークンは引き続きご利用いただけます。",
)


@router.get("/exchange")
def exchange_start(request: Request) -> Response:
    return start(request, EXCHANGE, EXCHANGE_INTRO)


@router.post("/exchange")
async def exchange_credentials(request: Request) -> Response:
    return await posted(request, lambda r, f: credentials_post(
        r, f, EXCHANGE, exchange.begin, "old", EXCHANGE_INTRO))


def _old_screen(request: Request, errors: dict[str, str] | None = None,
                error: str | None = None) -> Response:
    errors = errors or {}
    return flow_screen(request, EXCHANGE, "old", submit="次へ", error=error,
                       fields=[Field("otp", "ワンタイムパスワード", kind="otp",
                                     error=errors.get("otp", ""))],
                       status_code=422 if errors or error else 200)


@router.get("/exchange/old")
def exchange_old_form(request: Request) -> Response:
    flow = flow_step(request, EXCHANGE, "old")
    return flow if isinstance(flow, Response) else _old_screen(request)


def _exchange_old(request: Request, form: Form) -> Response:
    flow = flow_step(request, EXCHANGE, "old")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    check_otp(form, "otp", errors)
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
    return flow_screen(request, EXCHANGE, "new", fields=serial_otp_fields(form, errors or {}),
                       submit="登録", error=error, status_code=422 if errors or error else 200,
                       alt_link=app_link(request, EXCHANGE))


@router.get("/exchange/new")
def exchange_new_form(request: Request) -> Response:
    flow = flow_step(request, EXCHANGE, "new")
    return flow if isinstance(flow, Response) else _new_screen(request)


def _exchange_new(request: Request, form: Form) -> Response:
    flow = flow_step(request, EXCHANGE, "new")
    if isinstance(flow, Response):
        return flow
    errors: dict[str, str] = {}
    check_serial(form, errors)
    check_otp(form, "otp", errors)
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
    return done(request, EXCHANGE, ["ソフトウェアトークンの交換が完了しました。",
                                     "これからは新しいトークンのワンタイムパスワードをご利用ください。"],
                 serial_row("新しいトークンのシリアル番号", request, EXCHANGE))
