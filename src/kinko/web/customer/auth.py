"""ログイン: contract ID and login password, then the OTP when the customer chose it; logout;
the language switch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kinko.domain.errors import AuthenticationFailed, InvalidInput, RateLimited
from kinko.domain.serials import parse_contract_id
from kinko.services import authentication
from kinko.services.authentication import LoginStarted
from kinko.web.customer.common import (
    Form,
    client_address,
    page,
    pop_notice,
    posted,
    refused,
    session,
    signed_in,
    web,
)
from kinko.web.errors import customer_message
from kinko.web.i18n import LANG_COOKIE, LANGUAGES
from kinko.web.pages import Field, redirect

router = APIRouter()

PENDING_TIMEOUT = timedelta(minutes=10)
BOTTOM_LINKS = [("/otp/enroll", "利用開始"), ("/otp/stop", "利用中止"),
                ("/otp/exchange", "交換")]


def _login_page(request: Request, *, contract_id: str = "", errors: dict[str, str] | None = None,
                error: str | None = None, message: str | None = None) -> Response:
    errors = errors or {}
    return page(
        request, "form.html", title="ログイン", action="/login", submit="ログイン",
        message=message, error=error,
        fields=[
            Field("contract_id", "契約者ID", kind="digits", hint="10桁の数字",
                  value=contract_id, error=errors.get("contract_id", ""),
                  autocomplete="username", maxlength=20),
            Field("login_password", "ログインパスワード", kind="password",
                  error=errors.get("login_password", ""), autocomplete="current-password"),
        ],
        bottom_links=BOTTOM_LINKS,
        status_code=422 if errors or error else 200,
    )


@router.get("/")
def root(request: Request) -> Response:
    return redirect("/home" if signed_in(request) else "/login")


@router.get("/login")
def login_form(request: Request) -> Response:
    if signed_in(request):
        return redirect("/home")
    notice = pop_notice(request)
    if request.query_params.get("bye"):
        notice = "ログアウトしました。"
    return _login_page(request, message=notice)


def _login(request: Request, form: Form) -> Response:
    w = web(request)
    contract_id = form.text("contract_id")
    errors: dict[str, str] = {}
    try:
        parse_contract_id(contract_id)
    except InvalidInput:
        errors["contract_id"] = "契約者IDは10桁の数字で入力してください。"
    if not form.filled("login_password"):
        errors["login_password"] = "入力してください。"  # noqa: S105 - a message, not a password
    if errors:
        return _login_page(request, contract_id=contract_id, errors=errors)
    try:
        started = authentication.start_login(w.ctx, contract_id, form.password("login_password"),
                                             client_address=client_address(request))
    except (AuthenticationFailed, RateLimited) as error:
        return refused(_login_page(request, contract_id=contract_id,
                                   error=customer_message(error)), error)
    if started.otp_required:
        s = session(request)
        s.data["login_pending"] = {
            "customer_id": started.customer_id, "contract_id": started.contract_id,
            "otp_required": True, "at": w.now().isoformat(),
        }
        return redirect("/login/otp")
    return _complete(request, started, None)


@router.post("/login")
async def login(request: Request) -> Response:
    return await posted(request, _login)


def _pending(request: Request) -> LoginStarted | None:
    raw = session(request).data.get("login_pending")
    if not raw:
        return None
    if web(request).now() - datetime.fromisoformat(raw["at"]) > PENDING_TIMEOUT:
        session(request).data.pop("login_pending", None)
        return None
    return LoginStarted(raw["customer_id"], raw["contract_id"], raw["otp_required"])


def _otp_page(request: Request, *, error: str | None = None, field_error: str = "",
              status_code: int = 200) -> Response:
    return page(
        request, "form.html", title="ログイン時のワンタイムパスワード認証", action="/login/otp",
        submit="ログイン", error=error, cancel="/login", cancel_label="戻る",
        intro=["ソフトウェアトークンに表示されている6桁のワンタイムパスワードを入力してください。"],
        fields=[Field("otp", "ワンタイムパスワード", kind="otp", error=field_error)],
        status_code=status_code,
    )


@router.get("/login/otp")
def login_otp_form(request: Request) -> Response:
    if _pending(request) is None:
        return redirect("/login")
    return _otp_page(request)


def _login_otp(request: Request, form: Form) -> Response:
    started = _pending(request)
    if started is None:
        session(request).data["notice"] = "一定時間操作がなかったため、最初からやり直してください。"
        return redirect("/login")
    if not form.filled("otp"):
        return _otp_page(request, field_error="ワンタイムパスワードは6桁の数字で入力してください。",
                         status_code=422)
    return _complete(request, started, form)


@router.post("/login/otp")
async def login_otp(request: Request) -> Response:
    return await posted(request, _login_otp)


def _complete(request: Request, started: LoginStarted, form: Form | None) -> Response:
    w = web(request)
    try:
        logged_in = authentication.finish_login(
            w.ctx, started, form.code("otp") if form is not None else None)
    except AuthenticationFailed as error:
        return _otp_page(request, error=customer_message(error), status_code=422)
    with w.ctx.uow() as uow:
        customer = uow.customers.get(logged_in.customer_id)
    # A new session ID at login: whatever ID an attacker planted before is now worthless.
    s = w.sessions.rotate(request)
    s.data.pop("login_pending", None)
    s.data.pop("flow", None)
    s.data["customer"] = {"customer_id": logged_in.customer_id,
                          "contract_id": logged_in.contract_id,
                          "name": customer.name if customer else ""}
    # 前回ログイン日時 on home: the login before this one (None: this is the first).
    previous = logged_in.previous_login_at
    s.data["previous_login"] = previous.isoformat() if previous else None
    return redirect("/home")


def _logout(request: Request, form: Form) -> Response:
    web(request).sessions.destroy(request)
    return redirect("/login?bye=1")


@router.post("/logout")
async def logout(request: Request) -> Response:
    return await posted(request, _logout)


@router.get("/lang/{code}")
def switch_language(code: str, request: Request) -> Response:
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    response = redirect(target)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax",
                            httponly=True, secure=request.url.scheme == "https")
    return response
