"""Rendering for the server-side pages: the form field model, flash messages, templates.

Handlers describe a screen (title, step, fields, buttons); the templates draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from kinko.web.i18n import LANG_COOKIE, LANGUAGES, translator

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
    """A step as the bank's guide numbers it; one screen may cover several (⑤⑥)."""

    number: int
    name: str
    last: int | None = None

    @property
    def mark(self) -> str:
        return "".join(CIRCLED[n - 1] for n in range(self.number, (self.last or self.number) + 1))


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


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["CIRCLED"] = CIRCLED
    templates.env.filters["yen"] = lambda amount: f"{int(amount):,}"
    templates.env.filters["show"] = show
    templates.env.globals["LABELS"] = LABELS
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
