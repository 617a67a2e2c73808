"""What every console screen shares: the staff session (its own cookie and idle timeout),
the signed-in staff member, forms with CSRF, and rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from kinko.domain.errors import NotFound
from kinko.domain.model import StaffMember
from kinko.services.staff_accounts import get_staff
from kinko.services.websessions import WebSession
from kinko.web.customer.common import Form, Web

__all__ = ["Console", "Form", "console", "page", "pop_notice", "posted", "session",
           "signed_in", "staff_required"]
from kinko.web.pages import redirect, render
from kinko.web.websession import CsrfFailed, WebSessions

CONSOLE_COOKIE = "kinko_console"
CONSOLE_IDLE_TIMEOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class Console:
    web: Web
    sessions: WebSessions


def console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def session(request: Request) -> WebSession:
    return console(request).sessions.get(request)


def signed_in(request: Request) -> StaffMember | None:
    staff_id = session(request).data.get("staff_id")
    if staff_id is None:
        return None
    try:
        return get_staff(console(request).web.ctx, int(staff_id))
    except NotFound:
        return None


def staff_required(request: Request) -> StaffMember | Response:
    member = signed_in(request)
    if member is not None:
        return member
    s = session(request)
    s.data["notice"] = ("一定時間操作がなかったため、サインアウトしました。" if s.expired
                        else "サインインしてください。")
    return redirect("/console/login")


def pop_notice(request: Request) -> str | None:
    notice: str | None = session(request).data.pop("notice", None)
    return notice


def page(request: Request, template: str, *, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    c = console(request)
    return render(c.web.templates, request, template, status_code=status_code,
                  bank_name=c.web.kinko.settings.bank_name,
                  csrf_token=session(request).csrf_token, staff=signed_in(request),
                  customer=None, **context)


async def posted(request: Request, handler: Callable[[Request, Form], Response]) -> Response:
    raw = await request.form()
    data = {k: v for k, v in raw.items() if isinstance(v, str)}
    try:
        await run_in_threadpool(console(request).sessions.check_csrf, request,
                                data.get("csrf_token"))
    except CsrfFailed:
        return await run_in_threadpool(_csrf_failed, request)
    return await run_in_threadpool(handler, request, Form(data))


def _csrf_failed(request: Request) -> Response:
    if session(request).expired or signed_in(request) is None:
        session(request).data["notice"] = "画面の有効期限が切れました。もう一度操作してください。"
        return redirect("/console/login")
    return page(request, "console/message.html", title="エラー",
                error="画面の有効期限が切れました。もう一度操作してください。", status_code=403)
