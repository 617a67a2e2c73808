"""Another authenticator app in 利用開始 and 交換 (bank policy: KINKO_THIRD_PARTY_APPS): its
steps as routes; the shared parts are in ``otp_flows``."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.domain.errors import KinkoError, NotFound
from kinko.domain.provisioning import otpauth_uri
from kinko.domain.secrets import Seed
from kinko.services import enrollment, exchange
from kinko.web import flows
from kinko.web.customer.common import (
    Form,
    page,
    posted,
    session,
    web,
)
from kinko.web.customer.otp_flows import ENROLL, EXCHANGE, FlowSpec, check_otp, flow_step
from kinko.web.errors import customer_message
from kinko.web.pages import Field, redirect

router = APIRouter(prefix="/otp")


# --- another authenticator app (bank policy: KINKO_THIRD_PARTY_APPS) -------------------

#: The step at which each flow takes the new token, and what follows a good code there.
APP_STEPS = {"enroll": (ENROLL, "token"), "exchange": (EXCHANGE, "new")}


def app_link(request: Request, spec: FlowSpec) -> tuple[str, str] | None:
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
        flow = flow_step(request, spec, step)
        if isinstance(flow, Response):
            return flow
        return _app_page(request, spec, step, flow)
    return show


def _app_post(name: str) -> Callable[[Request, Form], Response]:
    spec, step = APP_STEPS[name]

    def handle(request: Request, form: Form) -> Response:
        flow = flow_step(request, spec, step)
        if isinstance(flow, Response):
            return flow
        serial = flow.extra.get("app_serial")
        if not web(request).kinko.settings.third_party_apps or serial is None:
            return redirect(spec.url(step))
        errors: dict[str, str] = {}
        check_otp(form, "otp", errors)
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
