"""What every customer screen shares: the web context, the session, forms and rendering.

Handlers stay thin: read the form, call one service, render or redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from kinko.bootstrap import Kinko
from kinko.domain.errors import KinkoError, RateLimited
from kinko.domain.secrets import Code, Password
from kinko.services.context import Context
from kinko.services.websessions import WebSession
from kinko.web import flows
from kinko.web.pages import redirect, render
from kinko.web.websession import CsrfFailed, WebSessions

FLOW_STARTS = ("enroll", "stop", "exchange")
LOGIN_EXPIRED = "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
FORM_EXPIRED = "画面の有効期限が切れました。もう一度操作してください。"


@dataclass(frozen=True)
class Web:
    kinko: Kinko
    templates: Jinja2Templates
    sessions: WebSessions

    @property
    def ctx(self) -> Context:
        return self.kinko.ctx

    def now(self) -> datetime:
        return self.kinko.ctx.clock()


def web(request: Request) -> Web:
    found: Web = request.app.state.web
    return found


def session(request: Request) -> WebSession:
    return web(request).sessions.get(request)


@dataclass(frozen=True)
class SignedIn:
    customer_id: int
    contract_id: str
    name: str


def signed_in(request: Request) -> SignedIn | None:
    raw = session(request).data.get("customer")
    return SignedIn(**raw) if raw else None


class Form:
    """A submitted form; secrets come out already wrapped, plain fields stripped."""

    def __init__(self, data: dict[str, str]) -> None:
        self._data = data

    def text(self, name: str) -> str:
        return self._data.get(name, "").strip()

    def password(self, name: str) -> Password:
        return Password(self._data.get(name, ""))

    def code(self, name: str) -> Code:
        return Code(self._data.get(name, "").strip())

    def filled(self, name: str) -> bool:
        return bool(self._data.get(name, "").strip())


async def read_form(request: Request) -> Form:
    """The form, after the CSRF check every POST must pass."""
    raw = await request.form()
    data = {k: v for k, v in raw.items() if isinstance(v, str)}
    await run_in_threadpool(web(request).sessions.check_csrf, request, data.get("csrf_token"))
    return Form(data)


def client_address(request: Request) -> str:
    """The caller's address for per-address rate limits: the peer, or what a trusted proxy
    said through uvicorn's ``--forwarded-allow-ips`` (docs/operations.md)."""
    return request.client.host if request.client else "unknown"


def refused(response: Response, error: KinkoError) -> Response:
    """``response`` (a form shown again with ``error``'s message) as a 429 with
    ``Retry-After`` when ``error`` is a rate limit."""
    if isinstance(error, RateLimited):
        response.status_code = 429
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def page(request: Request, template: str, *, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    w = web(request)
    s = session(request)
    return render(
        w.templates, request, template, status_code=status_code,
        bank_name=w.kinko.settings.bank_name, csrf_token=s.csrf_token,
        customer=signed_in(request), **context,
    )


def message_page(request: Request, *, title: str, error: str | None = None,
                 message: str | None = None, next_href: str = "/login",
                 next_label: str = "ログイン画面へ戻る", status_code: int = 200) -> HTMLResponse:
    return page(request, "message.html", title=title, error=error, message=message,
                next_href=next_href, next_label=next_label, status_code=status_code)


def csrf_failed_page(request: Request) -> HTMLResponse:
    return message_page(request, title="エラー", error=FORM_EXPIRED,
                        next_href="/home" if signed_in(request) else "/login",
                        next_label="戻る", status_code=403)


async def posted(
    request: Request, handler: Callable[[Request, Form], Response]
) -> Response:
    """Run a POST handler in a worker thread once the CSRF check passed."""
    try:
        form = await read_form(request)
    except CsrfFailed:
        return await run_in_threadpool(_csrf_failed, request)
    return await run_in_threadpool(handler, request, form)


def _csrf_failed(request: Request) -> Response:
    """A form from a session that timed out starts its procedure again with a note; any
    other CSRF failure is refused."""
    s = session(request)
    if not s.expired:
        return csrf_failed_page(request)
    parts = request.url.path.split("/")
    if len(parts) > 2 and parts[1] == "otp" and parts[2] in FLOW_STARTS:
        s.data["notice"] = flows.TIMED_OUT
        return redirect(f"/otp/{parts[2]}")
    s.data["notice"] = LOGIN_EXPIRED
    return redirect("/login")


def login_required(request: Request) -> SignedIn | Response:
    """The signed-in customer, or a redirect to the login screen saying why."""
    customer = signed_in(request)
    if customer is not None:
        return customer
    s = session(request)
    s.data["notice"] = LOGIN_EXPIRED if s.expired else "ログインしてください。"
    return redirect("/login")


def pop_notice(request: Request) -> str | None:
    notice: str | None = session(request).data.pop("notice", None)
    return notice
