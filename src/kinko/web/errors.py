"""The one place that turns kinko's errors into what a customer reads (Japanese keys for
``i18n``) and into HTTP status codes.

Messages name no secret and, at a password step, never say which input was wrong.

It also decides what an exception that no handler caught becomes (``ServerErrors``): a
database that cannot be reached is a 503 with ``Retry-After`` (the outage passes; the request
may be sent again), anything else a 500; each app renders both in its own format.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

import psycopg
from fastapi.templating import Jinja2Templates
from sqlalchemy import exc as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinko.domain import errors as e
from kinko.services.api_clients import ClientForbidden, ClientUnauthorized
from kinko.services.approvals import NotPermitted
from kinko.web.i18n import Phrase
from kinko.web.pages import render

#: error code → the customer's message (Japanese; English through i18n.EN)
CUSTOMER_MESSAGES: dict[str, str] = {
    e.WrongPassword.code: "契約者IDまたはログインパスワードが正しくありません。",
    e.PasswordLocked.code: Phrase(
        "パスワードがロックされています。{help_desk}までお問い合わせください。"),
    e.WrongCode.code: "ワンタイムパスワードが正しくありません。",
    e.ReplayedCode.code:
        "このワンタイムパスワードは使用済みです。次に表示されるワンタイムパスワードを入力してください。",
    e.TokenLocked.code: Phrase(
        "ワンタイムパスワードがロックされています。{help_desk}までお問い合わせください。"),
    e.TokenSuspended.code: Phrase(
        "ワンタイムパスワードが利用停止中です。{help_desk}までお問い合わせください。"),
    e.TokenRevoked.code: "このトークンは利用できません。当金庫までお問い合わせください。",
    e.TokenExpired.code:
        "トークンの有効期限が切れています。アプリでトークンを作り直してください。",
    e.NotFound.code:
        "このシリアル番号のトークンは登録できません。シリアル番号をご確認ください。",
    e.Conflict.code: "受付できませんでした。もう一度最初からお試しください。",
    e.InvalidInput.code: "入力内容が正しくありません。",
    e.RateLimited.code: "短時間に多くの試行があったため、受付を一時的に制限しています。"
                        "しばらく時間をおいてから、もう一度お試しください。",
}

#: At a step that asks for the OTP and a password together, a wrong one of either reads
#: the same, so the screen gives no hint of which it was.
COMBINED_STEP_MESSAGE = (
    "ワンタイムパスワードまたは確認用パスワードが正しくありません。"
)

HTTP_STATUS: dict[str, int] = {
    e.InvalidInput.code: 422,
    e.NotFound.code: 404,
    e.InvalidTransition.code: 409,
    e.Conflict.code: 409,
    e.OtpAlreadyInUse.code: 409,
    e.OtpNotInUse.code: 409,
    e.WrongPassword.code: 401,
    e.WrongCode.code: 401,
    e.ReplayedCode.code: 401,
    e.PasswordLocked.code: 423,
    e.TokenLocked.code: 423,
    e.TokenSuspended.code: 423,
    e.TokenRevoked.code: 403,
    e.TokenExpired.code: 410,
    e.RateLimited.code: 429,
    # the API's callers: a bank system's client secret, and what it or a staff role may do
    ClientUnauthorized.code: 401,
    ClientForbidden.code: 403,
    NotPermitted.code: 403,
}


#: A locked password, named: the customer must tell the bank which one to unlock.
LOCKED_PASSWORD_MESSAGES: dict[str, str] = {
    "login": Phrase(
        "ログインパスワードがロックされています。{help_desk}までお問い合わせください。"),
    "confirmation": Phrase(
        "確認用パスワードがロックされています。{help_desk}までお問い合わせください。"),
}

#: A wrong code that counted towards the lock warns how many more it takes (the count is
#: the domain's, ``WrongCode.remaining``).
WRONG_CODE_WARNING = (
    "ワンタイムパスワードが正しくありません。あと{remaining}回間違えると利用できなくなります。"
)


def customer_message(error: e.KinkoError) -> str:
    if isinstance(error, e.WrongCode) and error.remaining is not None:
        return Phrase(WRONG_CODE_WARNING, remaining=error.remaining)
    if isinstance(error, e.PasswordLocked) and error.password in LOCKED_PASSWORD_MESSAGES:
        return LOCKED_PASSWORD_MESSAGES[error.password]
    return CUSTOMER_MESSAGES.get(error.code, CUSTOMER_MESSAGES[e.Conflict.code])


#: ... and a lock there does not say whether the token or the password locked.
COMBINED_LOCK_MESSAGE = Phrase(
    "ご本人確認ができないため、お手続きを停止しました。{help_desk}までお問い合わせください。"
)


def combined_step_message(error: e.KinkoError) -> str:
    """The message at a step that takes the OTP and the confirmation password together."""
    if isinstance(error, e.WrongCode | e.WrongPassword):
        return COMBINED_STEP_MESSAGE
    if isinstance(error, e.TokenLocked | e.PasswordLocked):
        return COMBINED_LOCK_MESSAGE
    return customer_message(error)


def http_status(error: e.KinkoError) -> int:
    return HTTP_STATUS.get(error.code, 400)


# --- exceptions no handler caught --------------------------------------------------------

log = logging.getLogger(__name__)

#: Seconds a client should wait before sending a request again while the database is away:
#: a PostgreSQL restart or a fail-over takes seconds, not minutes.
RETRY_AFTER_SECONDS = 10

#: What a database that cannot be reached raises: refused or dropped connections, a server
#: shutting down (psycopg's AdminShutdown is an OperationalError), a connect timeout, a
#: pool with no connection to give. SQLAlchemy wraps the driver's errors; the driver's own
#: are listed for code that meets them unwrapped.
UNREACHABLE: tuple[type[BaseException], ...] = (
    sa.OperationalError, sa.InterfaceError, sa.DisconnectionError, sa.TimeoutError,
    psycopg.OperationalError, psycopg.InterfaceError,
)

MAINTENANCE_TITLE = "ただいまご利用いただけません"
MAINTENANCE_MESSAGE = (
    "システムを一時的にご利用いただけない状態です。ご迷惑をおかけして申し訳ございません。"
    "しばらく時間をおいてから、もう一度お試しください。"
)
MAINTENANCE_NOTE = (
    "お手続きの途中でこの画面が表示された場合は、お手続きが完了していないことがあります。"
    "ご利用再開後に、お取引の結果をご確認ください。"
)
SERVER_ERROR_TITLE = "エラーが発生しました"
SERVER_ERROR_MESSAGE = (
    "申し訳ございません。処理中にエラーが発生しました。しばらくしてからもう一度お試しください。"
    "解決しない場合は、当金庫までお問い合わせください。"
)


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (a 503: try again soon) rather
    than a bug (a 500). Follows ``raise ... from`` (``__cause__``), which is how an error
    raised while handling another names it, and looks inside exception groups."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup):
            return all(database_unavailable(inner) for inner in current.exceptions)
        if isinstance(current, UNREACHABLE):
            return True
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return True  # SQLAlchemy saw the connection die under the statement
        current = current.__cause__
    return False


#: Renders the answer to a request that failed: ``(scope, unavailable) -> response``.
Respond = Callable[[Scope, bool], Response]


class ServerErrors:
    """Answer every HTTP request whose handler, or a middleware inside this one, raised:
    503 with ``Retry-After`` when the database cannot be reached, 500 otherwise, in the
    format ``respond`` renders (the site's HTML pages, the API's problem documents).

    Sits outside the middleware that saves web sessions, so a save that fails as the
    response starts is answered too. It does not raise again once it has answered:
    Starlette's own last-resort handler answers in plain text and re-raises, and uvicorn
    then closes the connection, which a client that reuses its connections (a load
    balancer, a bank system's HTTP pool) sees as a connection dropped without an answer.
    An error after the response started cannot be answered any more: it is raised again,
    and the server ends that connection.
    """

    def __init__(self, app: ASGIApp, *, respond: Respond) -> None:
        self.app = app
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            if started:
                raise
            unavailable = database_unavailable(error)
            if unavailable:
                # One line, no traceback: during an outage every request fails the same way.
                log.warning("the database cannot be reached; %s %s answered 503: %s",
                            scope["method"], scope["path"], _driver_message(error))
            else:
                log.error("unhandled error; %s %s answered 500", scope["method"],
                          scope["path"], exc_info=error)
            response = self.respond(scope, unavailable)
            if unavailable:
                response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            await response(scope, receive, send)


def _driver_message(error: BaseException) -> str:
    """What the driver said (``connection refused``, ``server closed the connection``):
    never SQLAlchemy's message, which quotes the statement and its parameters."""
    current: BaseException | None = error
    while current is not None:
        said: BaseException | None = None
        if isinstance(current, sa.DBAPIError):
            said = current.orig
        elif isinstance(current, UNREACHABLE):
            said = current
        if said is not None:
            first = next(iter(str(said).strip().splitlines()), "")
            return f"{type(said).__name__}: {first}"
        current = current.__cause__
    return type(error).__name__


def site_errors(templates: Jinja2Templates, *, bank_name: str,
                json_paths: Collection[str]) -> Respond:
    """The site's answer to a failed request: the maintenance page (503) or an error page
    (500), in the customer screens' or the staff console's layout, Japanese or English as
    the visitor chose; ``json_paths`` (the operations endpoints) answer in JSON instead.

    The page reads neither the session nor the database (either may be what failed) and
    is rendered in the event loop, not a worker thread: during an outage every worker
    thread may be waiting for a connection."""

    def respond(scope: Scope, unavailable: bool) -> Response:
        status = 503 if unavailable else 500
        path: str = scope["path"]
        if path in json_paths:
            return JSONResponse({"status": "unavailable" if unavailable else "error"},
                                status)
        console = path == "/console" or path.startswith("/console/")
        return render(
            templates, Request(scope), "maintenance.html", status_code=status,
            layout="console/base.html" if console else "base.html", bank_name=bank_name,
            customer=None, staff=None, csrf_token="",
            title=MAINTENANCE_TITLE if unavailable else SERVER_ERROR_TITLE,
            message=MAINTENANCE_MESSAGE if unavailable else SERVER_ERROR_MESSAGE,
            note=MAINTENANCE_NOTE if unavailable else None,
            next_href="/console" if console else "/",
            next_label="職員コンソールへ戻る" if console else "トップページへ戻る")

    return respond
