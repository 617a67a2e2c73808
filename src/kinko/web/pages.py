"""Rendering for the server-side pages: the form field model, flash messages, templates.

Handlers describe a screen (title, step, fields, buttons); the templates draw it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from kinko.domain.events import Action
from kinko.web.i18n import CONTACT, LANG_COOKIE, LANGUAGES, translator

TEMPLATES = Path(__file__).with_name("templates")
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
JST = timezone(timedelta(hours=9), "JST")  # the bank and its customers live in Japan time


@dataclass
class Field:
    """One input on a form. Secrets (``kind="password"`` or ``otp``) are never refilled."""

    name: str
    label: str
    kind: str = "text"          # text | password | otp | digits | radio | select | amount
    hint: str = ""
    value: str = ""
    error: str = ""
    maxlength: int | None = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    autocomplete: str = "off"

    @property
    def secret(self) -> bool:
        return self.kind in ("password", "otp")

    @property
    def described_by(self) -> str:
        """The ids of this field's hint and error, for ``aria-describedby``: a screen
        reader reads them with the field, not somewhere else on the page."""
        ids = [f"f-{self.name}-hint" if self.hint else "",
               f"f-{self.name}-error" if self.error else ""]
        return " ".join(i for i in ids if i)


def focus(fields: Sequence[Field]) -> str:
    """The field a step's screen opens with the cursor in (``autofocus``): the first one
    the customer got wrong, or else the first one. Server-rendered, so it needs no script."""
    for f in fields:
        if f.error:
            return f.name
    return fields[0].name if fields else ""


class Yen(int):
    """An amount shown as money: ``12,000円``, or ``12,000 yen`` on the English pages."""


@pass_context
def show(context: Any, value: object) -> str:
    """A summary value in the page's language (money formatted, known texts translated)."""
    translate = context["_"]
    if isinstance(value, Yen):
        return f"{int(value):,}{translate('円')}"
    return translate(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Step:
    """A step of the flow the customer is in, numbered 1, 2, 3… as they meet it."""

    number: int
    name: str

    @property
    def mark(self) -> str:
        return CIRCLED[self.number - 1]


@dataclass(frozen=True)
class MenuItem:
    """One destination of the signed-in customer's menu."""

    href: str
    label: str
    #: Kept in the menu bar on a smartphone; the others are one tap away on /menu, so the
    #: bar never needs to scroll sideways.
    on_phone_bar: bool = False


#: The customer's menu: the bar on every signed-in page (all of it on a PC) and /menu.
CUSTOMER_MENU = (
    MenuItem("/home", "ホーム", on_phone_bar=True),
    MenuItem("/transfer", "振込", on_phone_bar=True),
    MenuItem("/billpay", "収納サービス"),
    MenuItem("/payees", "登録振込先"),
    MenuItem("/transfer/limit", "振込限度額"),
    MenuItem("/settings/otp", "ワンタイムパスワード設定"),
    MenuItem("/otp/history", "ワンタイムパスワード履歴"),
)
PHONE_MENU_HREF = "/menu"


def current(request: Request, href: str) -> bool:
    """Whether the page shown is ``href`` or one of its steps (for ``aria-current``)."""
    path: str = request.url.path
    return path == href or path.startswith(href + "/")


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "ja")
    return lang if lang in LANGUAGES else "ja"


#: What staff and customers read for the codes stored in tokens and audit events.
LABELS = {
    "state": {"unbound": "未登録", "active": "利用中", "locked": "ロック中",
              "suspended": "利用停止中", "revoked": "失効"},
    "origin": {"issued": "発行", "demo": "デモ", "activation": "アプリ",
               "third_party": "他の認証アプリ", "staff": "職員用"},
    "outcome": {"success": "成功", "failure": "失敗"},
    "channel": {"web": "IB", "api": "API", "console": "コンソール", "cli": "CLI",
                "system": "システム"},
    "bound": {"enroll": "利用開始", "exchange": "交換"},
}

#: What staff read for each audit action, on every console screen that lists events (the
#: trail's codes stay in the database, the CSV export and the API).
ACTION_LABELS: dict[Action, str] = {
    Action.CUSTOMER_CREATED: "お客さま登録",
    Action.LOGIN_PASSWORD_CHECKED: "ログインパスワードの確認",
    Action.CONFIRMATION_PASSWORD_CHECKED: "確認用パスワードの確認",
    Action.PASSWORD_LOCKED: "パスワードのロック",
    Action.PASSWORD_UNLOCKED: "パスワードのロック解除",
    Action.LOGIN: "ログイン完了",
    Action.LOGIN_OTP_CHANGED: "ログイン時認証の変更",
    Action.TRANSACTION_AUTHORIZED: "取引の認証",
    Action.TRANSFER_LIMIT_CHANGED: "振込限度額の変更",
    Action.PAYEE_SAVED: "振込先の登録",
    Action.PAYEE_DELETED: "振込先の削除",
    Action.TOKEN_ISSUED: "トークン発行",
    Action.TOKEN_CODE_CHECKED: "ワンタイムパスワードの確認",
    Action.TOKEN_BOUND: "トークン登録",
    Action.TOKEN_STOPPED: "トークン利用中止",
    Action.TOKEN_EXCHANGED: "交換により停止",
    Action.TOKEN_LOCKED: "トークンのロック",
    Action.TOKEN_UNLOCKED: "トークンのロック解除",
    Action.TOKEN_SUSPENDED: "トークン利用停止",
    Action.TOKEN_RESUMED: "トークン利用再開",
    Action.TOKEN_REVOKED: "トークン失効",
    Action.TOKEN_EXPIRED: "トークン期限切れ",
    Action.TOKEN_RESYNCED: "時刻補正 (再同期)",
    Action.STAFF_CREATED: "職員登録",
    Action.STAFF_SIGN_IN: "職員サインイン",
    Action.REQUEST_CREATED: "承認の申請",
    Action.REQUEST_APPROVED: "申請の承認",
    Action.REQUEST_REJECTED: "申請の却下",
    Action.KEYS_ROTATED: "暗号鍵の更新",
    Action.API_CLIENT_CREATED: "APIクライアント登録",
    Action.API_CLIENT_ROTATED: "APIクライアントの秘密情報更新",
    Action.API_CLIENT_REVOKED: "APIクライアント失効",
    Action.API_CLIENT_REFUSED: "APIクライアントの拒否",
    Action.API_READ: "APIによる照会",
}

#: The short codes services write as an event's reason (a token's origin, the flow that
#: bound it, why a check was refused, ...). Staff's own reasons are shown as written.
REASON_LABELS: dict[str, str] = {
    **LABELS["origin"], **LABELS["bound"],
    "exchanged_out": "交換により停止", "stop": "利用中止", "unbound_ttl": "未登録のまま期限切れ",
    "wrong_code": "ワンタイムパスワード誤り", "replayed_code": "使用済みのワンタイムパスワード",
    "token_locked": "ロック中", "token_suspended": "利用停止中", "token_revoked": "失効",
    "token_expired": "期限切れ", "wrong_password": "パスワード誤り",
    "password_locked": "パスワードロック中", "unknown_contract": "契約者IDなし",
    "not_customers_token": "他のお客さまのトークン", "rate_limited": "試行回数の制限",
    "login": "ログイン", "transaction": "取引", "transfer": "振込", "bill_payment": "収納サービス",
    "otp": "ワンタイムパスワード", "confirmation_password": "確認用パスワード",
    "confirmation": "確認用パスワード", "on": "する", "off": "しない",
    "revoke": "失効", "unlock_password": "パスワードのロック解除",
}


@pass_context
def action_label(context: Any, action: Action) -> str:
    """An audit action as staff read it, in the page's language."""
    translate = context["_"]
    label = ACTION_LABELS.get(action)
    return translate(label) if label else str(action)


@pass_context
def reason_label(context: Any, reason: str | None) -> str:
    """An event's reason in words: each ``:``-separated part that is a known code is named
    (``demo``, ``transfer:otp``, a four-eyes request ``revoke#12``); anything else, such as
    the reason staff chose or typed, stays as written."""
    if not reason:
        return ""
    translate = context["_"]

    def word(part: str) -> str:
        kind, hash_, number = part.partition("#")
        if hash_ and number.isdigit() and kind in REASON_LABELS:
            return f"{translate(REASON_LABELS[kind])} ({translate('申請番号')} {number})"
        return translate(REASON_LABELS[part]) if part in REASON_LABELS else part

    return ": ".join(word(part) for part in re.split(r":\s*", reason))


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["CIRCLED"] = CIRCLED
    templates.env.filters["yen"] = lambda amount: f"{int(amount):,}"
    templates.env.filters["show"] = show
    templates.env.globals["LABELS"] = LABELS
    templates.env.globals["CONTACT"] = CONTACT
    templates.env.globals["focus"] = focus
    templates.env.globals["CUSTOMER_MENU"] = CUSTOMER_MENU
    templates.env.globals["PHONE_MENU_HREF"] = PHONE_MENU_HREF
    templates.env.globals["current"] = current
    templates.env.filters["action"] = action_label
    templates.env.filters["reason"] = reason_label
    templates.env.filters["jst"] = lambda at: at.astimezone(JST).strftime("%Y/%m/%d %H:%M")
    templates.env.filters["serial"] = lambda s: f"{s[:4]} {s[4:8]} {s[8:]}" if s else ""
    return templates


def render(templates: Jinja2Templates, request: Request, name: str, *,
           status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    context.setdefault("message", None)
    context.setdefault("error", None)
    return templates.TemplateResponse(
        request, name, {"lang": lang, "_": translator(lang), **context},
        status_code=status_code,
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
